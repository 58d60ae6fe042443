module pkgbox

go 1.26.8

require (
	github.com/cyphar/filepath-securejoin v0.7.0
	github.com/rogpeppe/go-internal v1.16.0
	github.com/spf13/cobra v1.10.2
	golang.org/x/sys v0.50.0
	golang.org/x/term v0.48.0
	pault.ag/go/debian v0.19.0
)

require (
	cyphar.com/go-pathrs v0.2.5 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/crypto v0.40.0 // indirect
	golang.org/x/tools v0.26.0 // indirect
	pault.ag/go/topsort v0.1.1 // indirect
)
