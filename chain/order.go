// Package chain builds a set of new source packages that depend on each
// other, as Fedora's mock --chain does: in build-dependency order, each
// build seeing the .debs of the earlier ones through a local repository
// that pkgbox keeps in the store for the chain (never in the root). It
// owns the order (a topological sort of the sources' reduced
// Build-Depends against the binary packages each one's debian/control
// declares) and the repository (a flat one, its Packages index written
// from the .debs' own control data).
package chain

import (
	"fmt"
	"slices"
	"strings"

	"pault.ag/go/debian/dependency"

	"pkgbox/debian"
)

// Node is one source of a chain, as Order needs it.
type Node struct {
	// Name names the source in messages: as the user gave it.
	Name string
	// Source is the source package read (its Binaries and build
	// relations).
	Source *debian.Source
	// Arch is the architecture its build dependencies are reduced for,
	// and Profiles the build profiles.
	Arch     string
	Profiles []string
}

// Order sorts nodes so that every source comes after the sources whose
// binary packages its Build-Depends (-Arch and -Indep, reduced for its
// architecture and profiles) name, in any alternative: the order in which
// they are built. Sources that do not depend on each other keep the order
// they were given in. It returns the order (indices into nodes) and, for
// each node, the nodes it needs. A cycle is an error naming its sources.
func Order(nodes []Node) (order []int, needs [][]int, err error) {
	makes := map[string]int{} // binary package -> the node that makes it
	for i, n := range nodes {
		for _, b := range n.Source.Binaries {
			if j, ok := makes[b]; ok && j != i {
				return nil, nil, fmt.Errorf("%s and %s both make binary package %q: a chain cannot tell which to use", nodes[j].Name, n.Name, b)
			}
			makes[b] = i
		}
	}
	needs = make([][]int, len(nodes))
	for i, n := range nodes {
		names, err := depNames(n)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", n.Name, err)
		}
		for _, name := range names {
			// A source that build-depends on its own binaries (a
			// bootstrap) takes them from the suite, not the chain.
			if j, ok := makes[name]; ok && j != i && !slices.Contains(needs[i], j) {
				needs[i] = append(needs[i], j)
			}
		}
		slices.Sort(needs[i])
	}
	// Kahn's algorithm, always taking the first ready node of the list, so
	// that the order is the list's wherever the dependencies allow.
	placed := make([]bool, len(nodes))
	for len(order) < len(nodes) {
		next := -1
		for i := range nodes {
			if !placed[i] && all(needs[i], placed) {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, nil, &CycleError{Sources: cycle(nodes, needs, placed)}
		}
		placed[next] = true
		order = append(order, next)
	}
	return order, needs, nil
}

func all(idx []int, placed []bool) bool {
	for _, i := range idx {
		if !placed[i] {
			return false
		}
	}
	return true
}

// depNames are the package names node's reduced build dependencies name.
func depNames(n Node) ([]string, error) {
	depends, _, err := n.Source.BuildDeps(n.Arch, n.Profiles, true, true)
	if err != nil || depends == "" {
		return nil, err
	}
	dep, err := dependency.Parse(depends)
	if err != nil {
		return nil, fmt.Errorf("read the reduced build dependencies %q: %w", depends, err)
	}
	var names []string
	for _, rel := range dep.Relations {
		for _, p := range rel.Possibilities {
			names = append(names, p.Name)
		}
	}
	return names, nil
}

// cycle finds a cycle among the nodes not placed (each of which needs
// another one not placed) and returns its sources' names, the first one
// again at the end.
func cycle(nodes []Node, needs [][]int, placed []bool) []string {
	start := -1
	for i := range nodes {
		if !placed[i] {
			start = i
			break
		}
	}
	// Walk from start along unplaced needs until a node comes back.
	seen := map[int]int{} // node -> position in path
	var path []int
	for i := start; ; {
		if at, ok := seen[i]; ok {
			path = append(path[at:], i)
			break
		}
		seen[i] = len(path)
		path = append(path, i)
		for _, j := range needs[i] {
			if !placed[j] {
				i = j
				break
			}
		}
	}
	names := make([]string, len(path))
	for k, i := range path {
		names[k] = nodes[i].Name
	}
	return names
}

// CycleError says the sources of a chain need each other in a circle.
type CycleError struct {
	// Sources are the cycle's sources, each needing the next, the first
	// one again at the end.
	Sources []string
}

func (e *CycleError) Error() string {
	return "build-dependency cycle: " + strings.Join(e.Sources, " needs ")
}

// Hint says what to do.
func (e *CycleError) Hint() string {
	return "build one of them first on its own (with a build profile such as stage1 that drops the dependency), then the chain without it"
}
