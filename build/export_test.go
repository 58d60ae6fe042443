package build

// ForceDummyDeps makes r install its build dependencies through a dummy
// package, as on roots whose apt lacks satisfy.
func ForceDummyDeps(r *Request) { r.dummyDeps = true }
