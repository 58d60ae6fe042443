package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"pkgbox/sandbox"
	"pkgbox/session"
)

// sandboxOptions are the flags that `run` and `shell` share.
type sandboxOptions struct {
	profile  string
	fstab    string
	write    bool
	network  bool
	hostname string
	user     string
	env      []string
	dir      string
	session  string
	// privileged lifts the default confinement (issue 11).
	privileged bool
}

func (o *sandboxOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVarP(&o.profile, "profile", "p", "default", "profile whose fstab the sandbox mounts (see 'pkgbox profiles')")
	f.StringVarP(&o.fstab, "fstab", "f", "", "fstab file to mount instead of a profile (jchroot's flag)")
	f.BoolVar(&o.write, "write", false, "work on the root itself, keeping changes (holds the root's exclusive lock)")
	f.BoolVar(&o.network, "network", false, "network through pasta, in the sandbox's own namespace (default: only lo)")
	f.StringVarP(&o.hostname, "hostname", "n", "", "host name inside the sandbox (default pkgbox-ROOT)")
	f.StringVarP(&o.user, "user", "u", "", "user of the root to run as, name or uid (default root)")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set an environment variable KEY=VALUE (repeatable)")
	f.StringVarP(&o.dir, "dir", "C", "", "working directory inside the sandbox (default the user's home)")
	f.BoolVar(&o.privileged, "privileged", false, "give root inside every capability and no system call or device filter (it can then escape the sandbox)")
}

// request turns the flags into a session request.
func (o *sandboxOptions) request(c *cobra.Command, g *globalOptions, root string, args []string, tty bool) (*session.Options, *session.Command, error) {
	s, err := g.openStore()
	if err != nil {
		return nil, nil, err
	}
	if o.session != "" && root != "" {
		return nil, nil, &usageError{fmt.Errorf("give a ROOT or --session, not both")}
	}
	if c.Flags().Changed("profile") && o.fstab != "" {
		return nil, nil, &usageError{fmt.Errorf("--profile and --fstab exclude each other")}
	}
	for _, kv := range o.env {
		if k, _, ok := cutEnv(kv); !ok || k == "" {
			return nil, nil, &usageError{fmt.Errorf("--env %q: want KEY=VALUE", kv)}
		}
	}
	if o.privileged {
		warn("--privileged: root in this sandbox holds every capability and can reach the host's devices, mounts and kernel")
	}
	opts := &session.Options{
		Store: s, Root: root, Session: o.session, Profile: o.profile, FstabFile: o.fstab,
		Write: o.write, Hostname: o.hostname,
		Warn: warn,
	}
	cmd := &session.Command{
		Args: args, Network: o.network, User: o.user, Env: o.env, Dir: o.dir, TTY: tty,
		Privileged: o.privileged,
		Stdio:      sandbox.Stdio{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr},
	}
	return opts, cmd, nil
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// runSession runs the session and passes the payload's status through as
// pkgbox's own. Signals are forwarded to the payload by the sandbox, so the
// session does not follow the command's context (which Ctrl-C cancels).
func runSession(ctx context.Context, opts *session.Options, cmd *session.Command) error {
	res, err := session.Run(context.WithoutCancel(ctx), opts, cmd)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return &exitError{code: res.ExitCode}
	}
	return nil
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
