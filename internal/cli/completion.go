package cli

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// newCompletionCommand is `kamal completion bash|zsh|fish`: the shell's
// completion script. The scripts call back `kamal __complete`, which
// completes commands, flags, aliases, and the values of -r, -h and -d
// from the project's configuration.
func (a *App) newCompletionCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Print the shell completion script. For example:

  bash:  source <(kamal completion bash)
  zsh:   kamal completion zsh > "${fpath[1]}/_kamal"
  fish:  kamal completion fish > ~/.config/fish/completions/kamal.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.Stdout)
			default:
				return root.GenFishCompletion(a.Stdout, true)
			}
		},
	}
}

// registerCompletions completes the first word with the configuration's
// aliases too, and -r, -h and -d with its roles, hosts and destinations.
func (a *App) registerCompletions(root *cobra.Command) {
	noFiles := cobra.ShellCompDirectiveNoFileComp
	root.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, noFiles
		}
		cfg, err := a.Config()
		if err != nil {
			return nil, noFiles
		}
		var names []string
		for name := range cfg.Aliases {
			names = append(names, name+"\tAlias for "+cfg.Aliases[name])
		}
		slices.Sort(names)
		return names, noFiles
	}
	fromConfig := func(list func() []string) cobra.CompletionFunc {
		return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return list(), noFiles
		}
	}
	_ = root.RegisterFlagCompletionFunc("roles", fromConfig(func() []string {
		if cfg, err := a.Config(); err == nil {
			return cfg.RoleNames()
		}
		return nil
	}))
	_ = root.RegisterFlagCompletionFunc("hosts", fromConfig(func() []string {
		if cfg, err := a.Config(); err == nil {
			return cfg.AllHosts()
		}
		return nil
	}))
	_ = root.RegisterFlagCompletionFunc("destination", fromConfig(func() []string {
		return destinations(a.Globals.ConfigFile)
	}))
}

// destinations are the names of the destination files next to the
// configuration file: staging for config/deploy.staging.yml.
func destinations(configFile string) []string {
	base := strings.TrimSuffix(filepath.Base(configFile), filepath.Ext(configFile))
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(configFile), base+".*.yml"))
	var names []string
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), base+"."), ".yml")
		if name != "" && !strings.Contains(name, ".") {
			names = append(names, name)
		}
	}
	return names
}
