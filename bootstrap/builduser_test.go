package bootstrap

import (
	"strings"
	"testing"
)

func TestChooseBuildID(t *testing.T) {
	for _, c := range []struct {
		name                          string
		passwd, group, subuid, subgid string
		want                          int
		err                           bool
	}{
		{name: "a fresh host", passwd: "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/bash\n",
			subuid: "alice:100000:65536\n", want: firstBuildID},
		{name: "taken by an account", passwd: "svc:x:65100:65100::/:/bin/false\n", want: firstBuildID + 1},
		{name: "taken by a group", group: "grp:x:65100:\nother:x:65101:\n", want: firstBuildID + 2},
		{name: "in a subordinate range", subuid: "bob:65000:200\n", want: 65200},
		{name: "subgid too", subgid: "bob:65100:5\n", want: 65105},
		{name: "malformed lines are no ids", passwd: "junk\nx:y:notanumber\n", subuid: "a:b:c\nd:1\n", want: firstBuildID},
		{name: "nothing free", subuid: "all:60000:10000\n", err: true},
	} {
		var used idSet
		readIDColumn(strings.NewReader(c.passwd), &used)
		readIDColumn(strings.NewReader(c.group), &used)
		readSubIDs(strings.NewReader(c.subuid), &used)
		readSubIDs(strings.NewReader(c.subgid), &used)
		got, err := chooseBuildID(&used)
		if c.err != (err != nil) || got != c.want {
			t.Errorf("%s: got %d, %v; want %d (error %v)", c.name, got, err, c.want, c.err)
		}
	}
}
