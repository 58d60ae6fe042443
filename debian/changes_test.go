package debian

import (
	"strings"
	"testing"
)

func TestReadChanges(t *testing.T) {
	c, err := ReadChanges("x.changes", strings.NewReader(goodChanges))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Data) != goodChanges || len(c.Files) != 2 || c.Files[0].Name != "hello_1.0_amd64.deb" || c.Files[0].Size != 100 ||
		c.Files[1].SHA256 != "e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2e0b5a6d7c5e8f0b2" {
		t.Errorf("got %+v", c.Files)
	}
	noSums := goodChanges[:strings.Index(goodChanges, "Checksums-Sha256:")] + goodChanges[strings.Index(goodChanges, "Files:"):]
	_, err = ReadChanges("x.changes", strings.NewReader(noSums))
	checkErr(t, err, `x.changes: "hello_1.0_amd64.deb" has no Checksums-Sha256 entry`)
	sizes := strings.Replace(goodChanges, " 100 hello_1.0_amd64.deb", " 1 hello_1.0_amd64.deb", 1)
	_, err = ReadChanges("x.changes", strings.NewReader(sizes))
	checkErr(t, err, `size of "hello_1.0_amd64.deb" is 1 here but 100 in Files`)
}
