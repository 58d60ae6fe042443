package bootstrap

// HostBuildID is hostBuildID, for the tests of roots made by create.
var HostBuildID = hostBuildID
