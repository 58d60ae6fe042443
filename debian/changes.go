package debian

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"pault.ag/go/debian/control"
)

// Changes is a .changes file as read: its bytes, so that a copy is exactly
// what was checked, and the files it lists.
type Changes struct {
	Data  []byte
	Files []ChangesFile
}

// ChangesFile is one file a .changes lists, with the size and SHA-256 its
// Checksums-Sha256 field declares.
type ChangesFile struct {
	Name   string
	Size   int64
	SHA256 string
}

// ChangesFiles returns the base names of the files the .changes at path
// lists (its Files field). Every name is checked to be a bare base name;
// the files themselves are not looked at. A clearsigned .changes is read
// without checking its signature.
func ChangesFiles(path string) ([]string, error) {
	data, err := readFile(path, false)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	files, err := parseChanges(path, data)
	return changesNames(files), err
}

// ReadChangesFiles is ChangesFiles reading the .changes from r; name is
// the file named in errors.
func ReadChangesFiles(name string, r io.Reader) ([]string, error) {
	data, err := readLimited(r)
	if err != nil {
		return nil, &FileError{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	files, err := parseChanges(name, data)
	return changesNames(files), err
}

// ReadChanges reads a .changes from r (name is the file named in errors)
// for copying out what it lists: every file must also have a
// Checksums-Sha256 entry, of the same size as in Files, so that each copy
// can be checked against it.
func ReadChanges(name string, r io.Reader) (*Changes, error) {
	data, err := readLimited(r)
	if err != nil {
		return nil, &FileError{File: name, Err: fmt.Errorf("read: %w", err)}
	}
	files, err := parseChanges(name, data)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.SHA256 == "" {
			return nil, &FileError{File: name, Err: fmt.Errorf("%q has no Checksums-Sha256 entry", f.Name)}
		}
	}
	return &Changes{Data: data, Files: files}, nil
}

func changesNames(files []ChangesFile) []string {
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	return names
}

func parseChanges(file string, data []byte) ([]ChangesFile, error) {
	doc, err := parseDocument(file, data)
	if err != nil {
		return nil, err
	}
	if len(doc.paras) == 0 {
		return nil, errAt(file, 0, "empty .changes")
	}
	p := &doc.paras[0]
	var files []ChangesFile
	index := map[string]int{}
	err = eachEntry(doc, p, "Files", func(line int, words []string) error {
		var h control.FileListChangesFileHash
		// The library splits on single spaces and ignores words past the
		// fifth: "MD5 SIZE SECTION PRIORITY a b" would list "a".
		if len(words) != 5 {
			return errors.New("want \"MD5 SIZE SECTION PRIORITY NAME\"")
		}
		if err := h.UnmarshalControl(strings.Join(words, " ")); err != nil {
			return libError{err}
		}
		if err := checkEntry(h.FileHash, 32); err != nil {
			return err
		}
		if _, dup := index[h.Filename]; dup {
			return fmt.Errorf("%q listed twice", h.Filename)
		}
		index[h.Filename] = len(files)
		files = append(files, ChangesFile{Name: h.Filename, Size: h.Size})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := p.get("Checksums-Sha256"); ok {
		err = eachHash(doc, p, "Checksums-Sha256", "SHA256", 64, func(_ int, h control.FileHash) error {
			i, ok := index[h.Filename]
			if !ok {
				return fmt.Errorf("%q is not listed in Files", h.Filename)
			}
			if files[i].SHA256 != "" {
				return fmt.Errorf("%q listed twice", h.Filename)
			}
			if files[i].Size != h.Size {
				return fmt.Errorf("size of %q is %d here but %d in Files", h.Filename, h.Size, files[i].Size)
			}
			files[i].SHA256 = strings.ToLower(h.Hash)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
