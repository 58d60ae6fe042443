package bootstrap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// debootstrap reads its Packages indexes through one helper, "pkgdetails",
// with five modes: GETDEPS (the dependencies of some packages), PKGS (their
// version, file, checksum and size), FIELD (the packages whose field has a
// value: Priority: required), STANZAS (their whole stanzas, for dpkg's
// available file) and WGET% (wget's progress as debootstrap's). Its own
// helper is a perl script fed by grep, started a dozen times or more per
// create, and each start reads the whole index again: 50 MB for bookworm's
// main, so 7 of the 12 s debootstrap spends before its first download.
// debootstrap documents the interface as the one the C pkgdetails of
// debian-installer also implements; this is that interface in Go, with the
// perl's output, quirks included, byte for byte (TestPkgDetailsMatchesPerl
// compares them on the host's own indexes). debootstrap still decides
// everything: what to install, in which order, and it checks every file.

// pkgDetailsArg is the hidden first argument under which the binary runs
// as debootstrap's pkgdetails.
const pkgDetailsArg = "__pkgbox-pkgdetails"

// The dispatch is a package init, not a line in main as the sandbox's init
// is: every binary that links this package can run debootstrap, the test
// binaries included, and one whose TestMain forgot the line would run its
// whole suite as debootstrap's helper, a dozen times over. It runs after
// the inits of the packages this one imports, before main or TestMain.
func init() {
	if len(os.Args) < 2 || os.Args[1] != pkgDetailsArg {
		return
	}
	if err := pkgDetails(os.Args[2:], os.Stdin, os.Stdout, os.Getenv("DEBOOTSTRAP_CHECKSUM_FIELD")); err != nil {
		fmt.Fprintf(os.Stderr, "pkgbox pkgdetails: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// pkgDetails runs one mode of the helper. checksumField is
// $DEBOOTSTRAP_CHECKSUM_FIELD (SHA256, or MD5SUM for old suites).
func pkgDetails(args []string, stdin io.Reader, stdout io.Writer, checksumField string) (err error) {
	if len(args) == 0 {
		return errors.New("no mode given")
	}
	mode, args := args[0], args[1:]
	if mode == "WGET%" {
		// Unbuffered: debootstrap shows the progress as it comes.
		return wgetProgress(args, stdin, stdout)
	}
	out := bufio.NewWriterSize(stdout, 1<<16)
	defer func() {
		if ferr := out.Flush(); err == nil {
			err = ferr
		}
	}()
	need := func(n int) error {
		if len(args) < n {
			return fmt.Errorf("%s: want at least %d arguments, got %d", mode, n, len(args))
		}
		return nil
	}
	switch mode {
	case "GETDEPS":
		if err := need(1); err != nil {
			return err
		}
		data := readIndexAsGrep(args[0])
		return getDeps(data, args[1:], out)
	case "PKGS":
		if err := need(2); err != nil {
			return err
		}
		data := readIndexAsGrep(args[1])
		return fieldDetails(data, pkgsFields, true, "package:", args[0], args[2:], checksumField, out)
	case "FIELD":
		if err := need(3); err != nil {
			return err
		}
		data := readIndexAsGrep(args[2])
		return fieldDetails(data, fieldFields, false, strings.ToLower(args[0]), args[1], args[3:], checksumField, out)
	case "STANZAS":
		if err := need(1); err != nil {
			return err
		}
		data, err := readIndex(args[0])
		if err != nil {
			return err
		}
		return stanzas(data, args[1:], out)
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// readIndexAsGrep is readIndex for the modes whose index perl reads
// through grep: an index that cannot be read is one with no lines, after a
// message from grep, and the mode prints what it prints for no lines ("NAME
// -" for each package PKGS looks for), with status 0, as the pipe has.
func readIndexAsGrep(path string) []byte {
	data, err := readIndex(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pkgbox pkgdetails: %v\n", err)
		return nil
	}
	return data
}

// readIndex maps a Packages file into memory, read-only: cheaper than
// reading 50 MB into a new heap, in a process that lives a tenth of a
// second.
func readIndex(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 || !st.Mode().IsRegular() {
		return io.ReadAll(f)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		return io.ReadAll(f)
	}
	return data, nil
}

// lines calls fn for each line of data, without its newline; a last line
// without one counts too, as for perl's <STDIN>.
func lines(data []byte, fn func(line []byte)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			fn(data)
			return
		}
		fn(data[:i])
		data = data[i+1:]
	}
}

// isSpace is perl's \s.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

var (
	depSplit  = regexp.MustCompile(`[ \t\n\r\f\v]*,[ \t\n\r\f\v]*`)
	depAlt    = regexp.MustCompile(`[ \t\n\r\f\v]*[|].*$`)
	depVerRel = regexp.MustCompile(`[ \t\n\r\f\v]*[(].*[)][ \t\n\r\f\v]*`)
)

// replaceFirst is perl's s/re// without /g: the first match only.
func replaceFirst(re *regexp.Regexp, s string) string {
	if m := re.FindStringIndex(s); m != nil {
		return s[:m[0]] + s[m[1]:]
	}
	return s
}

// getDeps is GETDEPS: the names the Depends and Pre-Depends of pkgs name,
// the first of each set of alternatives, without versions or
// architecture qualifiers, sorted and unique.
func getDeps(data []byte, pkgs []string, out io.Writer) error {
	seen := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		seen[p] = true
	}
	deps := map[string]bool{}
	var pkg []byte
	in := false
	lines(data, func(line []byte) {
		// The perl sees only the lines grep lets through: blank ones and
		// those starting Package:, Depends: or Pre-Depends:.
		if len(line) == 0 {
			in = false
			return
		}
		if bytes.HasPrefix(line, []byte("Package: ")) {
			pkg = line[len("Package: "):]
			return
		}
		var v []byte
		switch {
		case bytes.HasPrefix(line, []byte("Depends: ")):
			v = line[len("Depends: "):]
		case bytes.HasPrefix(line, []byte("Pre-Depends: ")):
			v = line[len("Pre-Depends: "):]
		case bytes.HasPrefix(line, []byte("Package:")), bytes.HasPrefix(line, []byte("Depends:")), bytes.HasPrefix(line, []byte("Pre-Depends:")):
		default:
			return
		}
		if seen[string(pkg)] {
			in = true
		}
		if !in || v == nil {
			return
		}
		for _, d := range perlSplit(string(v)) {
			d = replaceFirst(depAlt, d)
			d = replaceFirst(depVerRel, d)
			if i := strings.IndexByte(d, ':'); i >= 0 {
				d = d[:i]
			}
			deps[d] = true
		}
	})
	names := make([]string, 0, len(deps))
	for d := range deps {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if _, err := io.WriteString(out, d+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// perlSplit is perl's split /\s*,\s*/: no fields for an empty string, and
// no empty fields at the end.
func perlSplit(s string) []string {
	if s == "" {
		return nil
	}
	f := depSplit.Split(s, -1)
	for len(f) > 0 && f[len(f)-1] == "" {
		f = f[:len(f)-1]
	}
	return f
}

// The fields each mode's grep lets through to the perl, with blank lines.
var (
	pkgsFields  = []string{"Architecture:", "Filename:", "MD5sum:", "Package:", "Priority:", "SHA256:", "Size:", "Version:", "Depends:", "Pre-Depends:"}
	fieldFields = []string{"Package:", "Priority:"}
)

// fieldDetails is PKGS (unique, field "package:") and FIELD (field given):
// for each stanza whose field has one of the wanted values, the line
// "package version arch mirror filename checksum size". PKGS prints one
// line per value, the last stanza's, sorted, then "value -" for each value
// no stanza had; FIELD prints them in the index's order.
//
// As in the perl, the values of version, architecture and the rest carry
// over from one stanza to the next one that lacks them, and a run of
// stanzas of one package counts only its last. Values are slices of data
// until a line is printed: the index has a million lines.
func fieldDetails(data []byte, grep []string, unique bool, field, mirror string, want []string, checksumField string, out io.Writer) error {
	expected := make(map[string]bool, len(want))
	for _, w := range want {
		expected[w] = true
	}
	names := make([]string, len(grep))
	for i, g := range grep {
		names[i] = strings.ToLower(g)
	}
	chksumField := strings.ToLower(checksumField) + ":"
	outputs := map[string]string{}
	var pkg, prevPkg, ver, arc, fil, chk, siz, val []byte
	var output, outputVal *string
	var werr error
	print := func(s string) {
		if werr == nil {
			_, werr = io.WriteString(out, s+"\n")
		}
	}
	emit := func() {
		if unique && outputVal != nil {
			outputs[*outputVal] = *output
		} else if output != nil {
			print(*output)
		}
	}
	lines(data, func(line []byte) {
		if len(line) == 0 {
			if val != nil && expected[string(val)] {
				s := strings.Join([]string{string(pkg), string(ver), string(arc), mirror, string(fil), string(chk), string(siz)}, " ")
				v := string(val)
				output, outputVal = &s, &v
			}
			val = nil
			return
		}
		f := ""
		for i, g := range grep {
			if len(line) >= len(g) && string(line[:len(g)]) == g {
				f = names[i]
				break
			}
		}
		if f == "" {
			return
		}
		j := len(f)
		for j < len(line) && isSpace(line[j]) {
			j++
		}
		// Never nil, so that an empty value still counts as one.
		v := line[j:len(line):len(line)]
		if f == "package:" {
			pkg = v
			if !bytes.Equal(pkg, prevPkg) {
				emit()
				prevPkg = pkg
			}
			output, outputVal = nil, nil
		}
		switch f {
		case "version:":
			ver = v
		case "architecture:":
			arc = v
		case "filename:":
			fil = v
		case "size:":
			siz = v
		}
		if f == chksumField {
			chk = v
		}
		if f == field {
			val = v
		}
	})
	emit()
	if unique {
		lines := make([]string, 0, len(outputs))
		for _, o := range outputs {
			lines = append(lines, o)
		}
		sort.Strings(lines)
		for _, o := range lines {
			print(o)
		}
		// The perl prints these in its hash's order, which is random:
		// debootstrap cannot depend on it.
		missing := map[string]bool{}
		for _, w := range want {
			if _, ok := outputs[w]; !ok && !missing[w] {
				missing[w] = true
				print(w + " -")
			}
		}
	}
	return werr
}

// stanzas is STANZAS: the whole stanzas of pkgs, as the index has them,
// each with the blank line that ends it (a last stanza without one is not
// printed).
func stanzas(data []byte, pkgs []string, out io.Writer) error {
	seen := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		seen[p] = true
	}
	start, in := 0, false
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		line := data[pos:]
		if end >= 0 {
			line = data[pos : pos+end]
			next = pos + end + 1
		}
		if bytes.HasPrefix(line, []byte("Package: ")) && seen[string(line[len("Package: "):])] {
			in = true
		}
		if len(line) == 0 {
			if in {
				if _, err := out.Write(data[start:next]); err != nil {
					return err
				}
				in = false
			}
			start = next
		}
		pos = next
	}
	return nil
}

// wgetProgress is WGET%: it reads wget's output and prints, for each
// percentage in it, debootstrap's progress line "P: N END [WHAT]", N
// scaled from the percentage into [NOW, NEXT].
func wgetProgress(args []string, in io.Reader, out io.Writer) error {
	num := func(i int) float64 {
		if i >= len(args) {
			return 0
		}
		return perlNum(args[i])
	}
	now, next, end := num(0), num(1), num(2)
	what := ""
	if len(args) == 4 {
		what = " " + args[3]
	}
	r := bufio.NewReader(in)
	v, allow := 0.0, false
	for {
		c, err := r.ReadByte()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case isSpace(c):
			allow = true
		case allow && c >= '0' && c <= '9':
			v = v*10 + float64(c-'0')
		case allow && c == '%':
			if _, err := fmt.Fprintf(out, "P: %d %d%s\n", int64(v/100.0*(next-now)+now), int64(end), what); err != nil {
				return err
			}
			v = 0
		default:
			v, allow = 0, false
		}
	}
}

// perlNum is perl's numeric value of a string: its leading number, or 0.
func perlNum(s string) float64 {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	n := 0
	for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '.' || (n == 0 && (s[n] == '-' || s[n] == '+'))) {
		n++
	}
	for n > 0 {
		if f, err := strconv.ParseFloat(s[:n], 64); err == nil {
			return f
		}
		n--
	}
	return 0
}
