package bootstrap

// HostBuildID is hostBuildID, for the tests of roots made by create.
var HostBuildID = hostBuildID

// DebootstrapDir is debootstrapDir, for the test of the wrapper it writes.
var DebootstrapDir = debootstrapDir

// CheckedMark is checkedMark, for the test of debootstrap's get.
var CheckedMark = checkedMark
