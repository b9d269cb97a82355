package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/config"
	"github.com/kamalgo/kamal/internal/secrets"
)

// configState is the once-loaded configuration of one App.
type configState struct {
	once sync.Once
	cfg  *config.Config
	err  error

	// raw is the configuration read while expanding an alias, reused so
	// ERB shell-outs (which may prompt) run only once.
	raw              *config.RawConfig
	rawFile, rawDest string
}

// Config loads the configuration on first use (with the global -c, -d and
// --version options) and returns the same result afterwards.
func (a *App) Config() (*config.Config, error) {
	st := &a.config
	st.once.Do(func() {
		opts := config.LoadOptions{
			ConfigFile:  a.Globals.ConfigFile,
			Destination: a.Globals.Destination,
			Version:     a.Globals.Version,
		}
		if st.raw != nil && st.rawFile == opts.ConfigFile && st.rawDest == opts.Destination {
			st.cfg, st.err = st.raw.Config(opts)
		} else {
			st.cfg, st.err = config.Load(opts)
		}
		st.raw = nil
	})
	return st.cfg, st.err
}

// expandConfigAlias expands `kamal <alias> args...` into the alias's command
// line followed by the remaining args, as Kamal does
// (Shellwords.split(alias) + ARGV[1..]). The config is read with the -c and
// -d options found in args, since flags are not parsed yet.
func (a *App) expandConfigAlias(args []string) ([]string, bool) {
	file, dest := scanConfigFlags(args[1:])
	raw, err := config.LoadRaw(config.LoadOptions{ConfigFile: file, Destination: dest})
	if err != nil {
		return nil, false
	}
	line, ok := raw.Alias(args[0])
	if !ok {
		return nil, false
	}
	st := &a.config
	st.raw, st.rawFile, st.rawDest = raw, file, dest
	words, err := secrets.ShellSplit(line)
	if err != nil || len(words) == 0 {
		return nil, false
	}
	return append(words, args[1:]...), true
}

// scanConfigFlags finds -c/--config-file and -d/--destination in args.
func scanConfigFlags(args []string) (file, dest string) {
	file = config.DefaultConfigFile
	for i := 0; i < len(args) && args[i] != "--"; i++ {
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		if v, used, ok := optionValue(args[i], next, "-c", "--config-file"); ok {
			file, i = v, i+used
		} else if v, used, ok := optionValue(args[i], next, "-d", "--destination"); ok {
			dest, i = v, i+used
		}
	}
	return file, dest
}

// optionValue reads an option's value from arg ("-cx", "-c=x",
// "--config-file=x") or from next ("-c x", "--config-file x"); used is 1
// when next was taken.
func optionValue(arg, next, short, long string) (value string, used int, ok bool) {
	switch {
	case arg == short || arg == long:
		return next, 1, true
	case strings.HasPrefix(arg, long+"="):
		return strings.TrimPrefix(arg, long+"="), 0, true
	case strings.HasPrefix(arg, short) && !strings.HasPrefix(arg, "--"):
		return strings.TrimPrefix(strings.TrimPrefix(arg, short), "="), 0, true
	}
	return "", 0, false
}

func newConfigCommand(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the merged configuration (secret values redacted)",
		Long:  "Show the combined configuration (deploy.yml merged with the destination file), in the same YAML shape as Kamal. Secret values are redacted.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.Config()
			if err != nil {
				return err
			}
			out, err := cfg.KamalYAML()
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(a.Stdout, out)
			return err
		},
	}
}
