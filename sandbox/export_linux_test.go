package sandbox

// HostResolvConf lets tests give pasta's DNS decision another host file.
var HostResolvConf = &hostResolvConf

var RootlessMap = rootlessMap
