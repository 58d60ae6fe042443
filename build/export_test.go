package build

// ForceDummyDeps makes r install its build dependencies through a dummy
// package, as on roots whose apt lacks satisfy.
func ForceDummyDeps(r *Request) { r.dummyDeps = true }

// LayerSalt gives r's layer keys a salt, so a test's layers are its own.
func LayerSalt(salt string) func(*Request) {
	return func(r *Request) { r.layerSalt = salt }
}

// CcacheSalt gives r's compiler cache a name of its own, so a test's cache
// starts cold and is its own.
func CcacheSalt(salt string) func(*Request) {
	return func(r *Request) { r.ccacheSalt = salt }
}
