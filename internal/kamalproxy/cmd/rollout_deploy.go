package cmd

import (
	"github.com/spf13/cobra"

	"github.com/kamalgo/kamal/internal/kamalproxy/server"
)

func newRolloutDeployCommand() *cobra.Command {
	var da server.RolloutDeployArgs
	cmd := &cobra.Command{
		Use:   "deploy <service>",
		Short: "Deploy the rollout targets",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			da.Service = args[0]
			for _, t := range append(append([]string(nil), da.TargetURLs...), da.ReaderURLs...) {
				if err := server.ValidateTarget(t); err != nil {
					return err
				}
			}
			var ok bool
			return call("RolloutDeploy", da, &ok)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&da.TargetURLs, "target", nil, "Target host(s) to deploy")
	f.StringSliceVar(&da.ReaderURLs, "read-target", nil, "Read-only target host(s) to deploy")
	f.DurationVar(&da.DeploymentOptions.DeployTimeout, "deploy-timeout", server.DefaultDeployTimeout, "Maximum time to wait for the new target to become healthy")
	f.DurationVar(&da.DeploymentOptions.DrainTimeout, "drain-timeout", server.DefaultDrainTimeout, "Maximum time to allow existing connections to drain before removing old target")
	_ = cmd.MarkFlagRequired("target")
	return cmd
}
