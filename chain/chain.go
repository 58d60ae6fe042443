package chain

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"pkgbox/batch"
	"pkgbox/build"
	"pkgbox/debian"
	"pkgbox/store"
)

// Chain is a batch of sources built in build-dependency order, each with
// the packages of those before it.
type Chain struct {
	// Items are the batch's sources in the order they are built, and
	// Needs, for each, the items it needs (see batch.Request.Needs).
	Items []batch.Item
	Needs [][]int
	// Repo holds the .debs built so far; the caller removes it when the
	// chain ends.
	Repo *Repo
}

// New orders items (each resolved: its Source read and Root chosen, see
// batch.Resolve) for a chain built from the request tmpl, and makes the
// chain's repository in s. Sources must be directories or .dsc files:
// the order needs their debian/control before anything is built.
func New(s *store.Store, items []batch.Item, tmpl *build.Request) (*Chain, error) {
	profiles := slices.Clone(tmpl.Profiles)
	if tmpl.NoCheck && !slices.Contains(profiles, "nocheck") {
		profiles = append(profiles, "nocheck")
	}
	nodes := make([]Node, len(items))
	for i, it := range items {
		if it.Source == "" {
			return nil, fmt.Errorf("%s: %q: a chain builds source directories and .dsc files, whose binary packages it reads before building; fetch a package of the suite first (apt-get source)", it.Origin, it.Input)
		}
		src, err := debian.ReadSource(it.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Origin, err)
		}
		arch := tmpl.Host
		if arch == "" {
			meta, err := s.Root(it.Root)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Origin, err)
			}
			arch = meta.Arch
		}
		nodes[i] = Node{Name: it.Input, Source: src, Arch: arch, Profiles: profiles}
	}
	order, needs, err := Order(nodes)
	if err != nil {
		return nil, err
	}
	c := &Chain{Items: make([]batch.Item, len(items)), Needs: make([][]int, len(items))}
	pos := make([]int, len(items)) // original index -> position in order
	for k, i := range order {
		pos[i] = k
	}
	for k, i := range order {
		c.Items[k] = items[i]
		for _, j := range needs[i] {
			c.Needs[k] = append(c.Needs[k], pos[j])
		}
		slices.Sort(c.Needs[k])
	}
	if c.Repo, err = NewRepo(s); err != nil {
		return nil, err
	}
	return c, nil
}

// Hook makes req, a batch of c.Items, a chain: each source waits for those
// it needs, builds with the chain's repository (when it needs some), and
// what it built goes into the repository.
func (c *Chain) Hook(req *batch.Request) {
	req.Needs = c.Needs
	req.Prepare = func(i int, r *build.Request) error {
		if len(c.Needs[i]) == 0 {
			return nil // its build, and so its layer, stays as without a chain
		}
		line := c.Repo.Line()
		if line == "" {
			return errors.New("the chain's repository is empty") // cannot be: what it needs was built
		}
		r.ExtraRepositories = append(slices.Clone(r.ExtraRepositories), line)
		return nil
	}
	req.Done = func(i int, rec *batch.Record) error {
		for _, a := range rec.Artifacts {
			if strings.HasSuffix(a.Path, ".changes") {
				_, err := c.Repo.Add(a.Path)
				return err
			}
		}
		return fmt.Errorf("add %s to the chain's repository: its build left no .changes", rec.Input)
	}
}
