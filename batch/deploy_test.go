package batch

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The examples under deploy/ are tested here: parsed as their scheduler
// would, their scripts run by sh with the variables the scheduler sets
// for each job and a fake pkgbox that notes its arguments, and the --shard
// each job passes applied to the list, which the jobs together must build
// exactly once.

// fakePkgbox puts a pkgbox first on PATH that writes its arguments, one a
// line, to the file $FAKE_ARGS and exits with $FAKE_STATUS.
func fakePkgbox(t *testing.T) string {
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_ARGS\"\necho '{\"fake\":1}'\nexit ${FAKE_STATUS:-0}\n"
	if err := os.WriteFile(filepath.Join(dir, "pkgbox"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runScript runs script with sh in dir with env added, and returns the
// arguments the fake pkgbox got.
func runScript(t *testing.T, dir, script string, env map[string]string) ([]string, error) {
	t.Helper()
	bin := fakePkgbox(t)
	argsFile := filepath.Join(t.TempDir(), "args")
	c := exec.Command("/bin/sh", "-c", script)
	c.Dir = dir
	c.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "FAKE_ARGS=" + argsFile}
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	if out, err := c.CombinedOutput(); err != nil {
		return nil, &exec.ExitError{ProcessState: c.ProcessState, Stderr: out}
	}
	data, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatalf("the script did not run pkgbox: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), nil
}

// flag is the value of flag name in args.
func flag(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// checkCover checks that the shards, applied to list, build each source
// exactly once.
func checkCover(t *testing.T, list []Item, shards []string) {
	t.Helper()
	seen := map[string]int{}
	for _, s := range shards {
		sh, err := ParseShard(s)
		if err != nil {
			t.Fatalf("a job's shard: %v", err)
		}
		if sh.Count != len(shards) {
			t.Errorf("shard %s, but %d jobs", s, len(shards))
		}
		for _, it := range sh.Of(list) {
			seen[it.Input]++
		}
	}
	for _, it := range list {
		if seen[it.Input] != 1 {
			t.Errorf("%s is built by %d jobs", it.Input, seen[it.Input])
		}
	}
}

func readDeployList(t *testing.T) []Item {
	f, err := os.Open("../deploy/sources.list")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	list, err := ReadList("deploy/sources.list", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) < 8 {
		t.Fatalf("deploy/sources.list has %d sources", len(list))
	}
	return list
}

// k8sJob is what the test reads of the Indexed Job.
type k8sJob struct {
	Kind     string
	Metadata struct{ Name string }
	Data     map[string]string // the ConfigMap's
	Spec     struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int
		Parallelism    int
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Command         []string
					Args            []string
					SecurityContext struct{ Privileged bool } `yaml:"securityContext"`
					Env             []struct{ Name, Value string }
					VolumeMounts    []struct {
						Name      string
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				}
				Volumes []struct {
					Name      string
					HostPath  *struct{ Path string } `yaml:"hostPath"`
					ConfigMap *struct{ Name string } `yaml:"configMap"`
				}
			}
		}
	}
}

func TestDeployKubernetes(t *testing.T) {
	f, err := os.Open("../deploy/kubernetes/pkgbox-batch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var job *k8sJob
	var sources string
	for {
		var doc k8sJob
		if err := dec.Decode(&doc); err != nil {
			break
		}
		switch doc.Kind {
		case "Job":
			job = &doc
		case "ConfigMap":
			sources = doc.Data["sources.list"]
		}
	}
	if job == nil || sources == "" {
		t.Fatal("no Job and ConfigMap with sources.list in the manifest")
	}
	list, err := ReadList("configmap", strings.NewReader(sources))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inputs(list), inputs(readDeployList(t))) {
		t.Errorf("the ConfigMap's list differs from deploy/sources.list")
	}
	s := job.Spec
	if s.CompletionMode != "Indexed" || s.Completions < 2 || s.Parallelism != s.Completions || s.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("not an Indexed Job of parallel completions: %+v", s)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(s.Template.Spec.Containers))
	}
	ctr := s.Template.Spec.Containers[0]
	if !ctr.SecurityContext.Privileged {
		t.Error("the container is not privileged")
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if env["SHARDS"] != strconv.Itoa(s.Completions) {
		t.Errorf("SHARDS=%q, completions %d", env["SHARDS"], s.Completions)
	}
	mounts := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	storeOnNode, listMounted := false, false
	for _, v := range s.Template.Spec.Volumes {
		switch {
		case v.HostPath != nil && v.Name == mounts[env["PKGBOX_STORE"]]:
			storeOnNode = true
		case v.ConfigMap != nil && v.ConfigMap.Name == "pkgbox-sources" && v.Name == mounts["/config"]:
			listMounted = true
		}
	}
	if !storeOnNode || !listMounted {
		t.Errorf("the store is not a hostPath volume at $PKGBOX_STORE (%v), or the list not the ConfigMap at /config (%v)", storeOnNode, listMounted)
	}
	if !slices.Equal(ctr.Command, []string{"/bin/sh", "-c"}) || len(ctr.Args) != 1 {
		t.Fatalf("command %q args %q: want a script for /bin/sh -c", ctr.Command, ctr.Args)
	}
	// Each index, as Kubernetes sets it; RESULTS moved to a directory of
	// the test's. A package's failure (exit status 3) does not fail the pod.
	var shards []string
	for i := range s.Completions {
		env["JOB_COMPLETION_INDEX"] = strconv.Itoa(i)
		env["RESULTS"] = t.TempDir()
		env["FAKE_STATUS"] = strconv.Itoa(3 * (i % 2))
		args, err := runScript(t, t.TempDir(), ctr.Args[0], env)
		if err != nil {
			t.Fatalf("index %d: %v: %s", i, err, err.(*exec.ExitError).Stderr)
		}
		if args[0] != "build" || flag(args, "--from") != "/config/sources.list" || !slices.Contains(args, "--json") || !slices.Contains(args, "--skip-built") {
			t.Errorf("index %d: pkgbox %q", i, args)
		}
		if _, err := os.Stat(filepath.Join(env["RESULTS"], "shard-"+strconv.Itoa(i)+".jsonl")); err != nil {
			t.Errorf("index %d: no records: %v", i, err)
		}
		shards = append(shards, flag(args, "--shard"))
	}
	checkCover(t, list, shards)
	// Any other failure of pkgbox fails the pod.
	env["FAKE_STATUS"] = "1"
	if _, err := runScript(t, t.TempDir(), ctr.Args[0], env); err == nil {
		t.Error("pkgbox's exit status 1 does not fail the pod")
	}
}

func inputs(items []Item) []string {
	var s []string
	for _, it := range items {
		s = append(s, it.Input)
	}
	return s
}

// gitlabJob is what the test reads of a GitLab CI job.
type gitlabJob struct {
	Stage        string
	Parallel     int
	Script       []string
	Needs        []string
	When         string
	AllowFailure struct {
		ExitCodes []int `yaml:"exit_codes"`
	} `yaml:"allow_failure"`
	Artifacts struct {
		When  string
		Paths []string
	}
}

func TestDeployGitLab(t *testing.T) {
	data, err := os.ReadFile("../deploy/gitlab/gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Variables map[string]string
		Build     gitlabJob `yaml:"pkgbox-build"`
		Report    gitlabJob `yaml:"pkgbox-report"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	b, r := doc.Build, doc.Report
	if b.Parallel < 2 || len(b.Script) == 0 {
		t.Fatalf("pkgbox-build is not a parallel job: %+v", b)
	}
	if !slices.Equal(b.AllowFailure.ExitCodes, []int{3}) || b.Artifacts.When != "always" {
		t.Errorf("pkgbox-build: a failed package must warn and keep the artifacts: %+v", b)
	}
	// The repository's root, where GitLab runs the script: SOURCES names
	// deploy/sources.list there.
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if doc.Variables["SOURCES"] != "deploy/sources.list" {
		t.Fatalf("SOURCES=%q", doc.Variables["SOURCES"])
	}
	var shards []string
	for i := 1; i <= b.Parallel; i++ {
		dir := t.TempDir()
		if err := os.Symlink(filepath.Join(repo, "deploy"), filepath.Join(dir, "deploy")); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"CI_NODE_INDEX": strconv.Itoa(i), "CI_NODE_TOTAL": strconv.Itoa(b.Parallel)}
		for k, v := range doc.Variables {
			env[k] = v
		}
		// GitLab runs the lines in one shell, stopping at the first failure.
		args, err := runScript(t, dir, "set -e\n"+strings.Join(b.Script, "\n"), env)
		if err != nil {
			t.Fatalf("job %d: %v: %s", i, err, err.(*exec.ExitError).Stderr)
		}
		if args[0] != "build" || flag(args, "--from") != "deploy/sources.list" || !slices.Contains(args, "--json") {
			t.Errorf("job %d: pkgbox %q", i, args)
		}
		// What the job writes is in its artifacts.
		for _, written := range []string{"results-" + strconv.Itoa(i) + ".jsonl", "out/"} {
			matched := false
			for _, p := range b.Artifacts.Paths {
				if ok, _ := filepath.Match(p, written); ok || p == written {
					matched = true
				}
			}
			if _, err := os.Stat(filepath.Join(dir, written)); err != nil || !matched {
				t.Errorf("job %d: %s not written (%v) or not among the artifacts %q", i, written, err, b.Artifacts.Paths)
			}
		}
		shards = append(shards, flag(args, "--shard"))
	}
	checkCover(t, readDeployList(t), shards)
	// The report reads every shard's records, after all of them, whatever
	// their outcome.
	if !slices.Equal(r.Needs, []string{"pkgbox-build"}) || r.When != "always" || len(r.Script) != 1 ||
		!strings.HasPrefix(r.Script[0], "pkgbox batch-report ") || !strings.HasSuffix(r.Script[0], " results-*.jsonl") {
		t.Errorf("pkgbox-report: %+v", r)
	}
}
