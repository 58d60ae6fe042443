package build_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"pkgbox/build"
	"pkgbox/internal/testenv"
)

// testCheck is a check whose Run the test gives.
type testCheck struct {
	name string
	run  func(context.Context, *build.CheckEnv) (*build.CheckResult, error)
}

func (c *testCheck) Name() string { return c.name }
func (c *testCheck) Run(ctx context.Context, env *build.CheckEnv) (*build.CheckResult, error) {
	return c.run(ctx, env)
}

// TestChecksHook pins the build's side of the checks: a check sees the
// build's artifacts; one that cannot run is recorded and the next runs;
// the time limit stops a check as it stops any step.
func TestChecksHook(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	var seen *build.CheckEnv
	checks := []build.Check{
		&testCheck{"broken", func(_ context.Context, env *build.CheckEnv) (*build.CheckResult, error) {
			seen = env
			return nil, errors.New("the tool is missing")
		}},
		&testCheck{"endless", func(ctx context.Context, _ *build.CheckEnv) (*build.CheckResult, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}},
	}
	res, err, _ := buildPkg(t, "hello-all", func(r *build.Request) {
		r.Checks, r.Out, r.Timeout = checks, t.TempDir(), 45*time.Second
	})
	var fe *build.FailedError
	if !errors.As(err, &fe) || fe.Phase != "endless" || !strings.Contains(fe.Reason, "time limit") {
		t.Fatalf("got %v, want the endless check stopped by the time limit", err)
	}
	if seen == nil || !strings.HasSuffix(seen.Changes, ".changes") || !reflect.DeepEqual(seen.Debs(), []string{"hello-all_1.0_all.deb"}) {
		t.Errorf("the check saw %+v", seen)
	}
	if len(res.Checks) != 1 || res.Checks[0].Name != "broken" || res.Checks[0].Error != "the tool is missing" ||
		res.Checks[0].Summary != "could not run: the tool is missing" || res.Checks[0].Failed {
		t.Errorf("checks: %+v", res.Checks)
	}
	if res.Failed != "endless" || len(res.Artifacts) == 0 {
		t.Errorf("failed phase %q, artifacts %v", res.Failed, res.Artifacts)
	}
}
