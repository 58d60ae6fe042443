package bootstrap

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Kind says what an Event is.
type Kind int

// The kinds of Event.
const (
	// KindProgress: Phase moved to Now of Total.
	KindProgress Kind = iota
	// KindInfo, KindWarning, KindError: a message from debootstrap.
	KindInfo
	KindWarning
	KindError
	// KindNote: something pkgbox itself tells the user.
	KindNote
)

// Event is one thing debootstrap (or pkgbox around it) reports.
type Event struct {
	Kind Kind
	// Phase is debootstrap's progress ID (DOWNDEBS, EXTRACTPKGS, ...) and
	// Title its description ("Downloading packages"), for KindProgress.
	Phase string
	Title string
	// Now and Total count bytes for the download phases and packages for
	// the others. debootstrap can report Now one past Total at the very end.
	Now, Total int64
	// Name is the message's ID (RETRIEVING, VALIDATING, EXTRACTING,
	// UNPACKING, CONFIGURING, ...) and Text the message itself.
	Name string
	Text string
}

// ParseProgress reads debootstrap's reports and calls emit for each event.
//
// With --debian-installer, debootstrap writes to fd 3 "P: NOW TOTAL [ID]"
// progress lines (an ID starts a phase, followed by "PF: description") and
// messages as "I: ID", "IA: argument"..., "IF: printf format" (W and E for
// warnings and errors). Without it, it writes plain "I: text" lines; those
// are understood too, with the first word in upper case as Name, but they
// carry no totals. Lines that continue a message (a format holding "\n",
// which dash's echo expands) are appended to it.
func ParseProgress(r io.Reader, emit func(Event)) error {
	var p progressParser
	p.emit = emit
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		p.line(sc.Text())
	}
	p.flush()
	return sc.Err()
}

type progressParser struct {
	emit func(Event)
	// msg is the message being assembled; it is emitted when the next
	// message starts or the input ends, since trailing lines may continue it.
	msg     *Event
	args    []string
	hasFmt  bool
	current Event // the phase in progress
	waitPF  bool  // a named P line waits for its PF title
}

func (p *progressParser) line(l string) {
	tag, rest, ok := strings.Cut(l, ": ")
	if !ok && strings.HasSuffix(l, ":") {
		tag, rest, ok = strings.TrimSuffix(l, ":"), "", true
	}
	if !ok {
		tag = ""
	}
	switch tag {
	case "P":
		p.flush()
		p.progress(rest)
	case "PA":
	case "PF":
		p.current.Title = rest
		if p.waitPF {
			p.waitPF = false
			p.emit(p.current)
		}
	case "I", "W", "E":
		p.flush()
		kind := map[string]Kind{"I": KindInfo, "W": KindWarning, "E": KindError}[tag]
		p.msg = &Event{Kind: kind, Name: rest, Text: rest}
		p.args, p.hasFmt = nil, false
		if strings.ContainsAny(rest, " .") || strings.ToUpper(rest) != rest {
			// Plain mode: the text itself, no ID.
			word, _, _ := strings.Cut(rest, " ")
			p.msg.Name = strings.ToUpper(strings.TrimRight(word, ".:"))
			p.hasFmt = true
		}
	case "IA", "WA", "EA":
		if p.msg != nil && !p.hasFmt {
			p.args = append(p.args, rest)
		}
	case "IF", "WF", "EF":
		if p.msg != nil && !p.hasFmt {
			p.msg.Text = format(rest, p.args)
			p.hasFmt = true
		}
	default:
		if p.msg != nil && p.hasFmt {
			p.msg.Text += "\n" + l
		}
	}
}

func (p *progressParser) progress(rest string) {
	f := strings.Fields(rest)
	if len(f) < 2 {
		return
	}
	now, err1 := strconv.ParseInt(f[0], 10, 64)
	total, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	prev := p.current
	p.current.Kind, p.current.Now, p.current.Total = KindProgress, now, total
	// Within a phase, never move backwards. debootstrap's "Downloading
	// packages" does: its meter maps each file's percentage onto 0..NEXT
	// rather than DONE..NEXT (download_debs never updates PROGRESS_NOW),
	// and its closing "P: DONE TOTAL DOWNDEBS" says 0, since download_debs
	// counts DONE in a subshell of a pipeline.
	if (len(f) < 3 || f[2] == prev.Phase) && total == prev.Total && now < prev.Now {
		p.current.Now = prev.Now
	}
	if len(f) >= 3 {
		if f[2] != p.current.Phase {
			p.current.Title = ""
		}
		p.current.Phase = f[2]
		p.waitPF = true
		return
	}
	// Unnamed P lines come from the download meter, within the phase.
	if !p.waitPF && p.current.Phase != "" {
		p.emit(p.current)
	}
}

func (p *progressParser) flush() {
	if p.waitPF {
		p.waitPF = false
		p.emit(p.current)
	}
	if p.msg != nil {
		if !p.hasFmt {
			p.msg.Text = p.msg.Name
		}
		p.emit(*p.msg)
		p.msg = nil
	}
}

// format applies debootstrap's printf format to its arguments: it only uses
// %s (and %d in a few places), so that is all this knows.
func format(f string, args []string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 's', 'd', 'i', 'u':
			if len(args) > 0 {
				b.WriteString(args[0])
				args = args[1:]
			}
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}
