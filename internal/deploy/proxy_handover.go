package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kamalgo/kamal/internal/commands"
	"github.com/kamalgo/kamal/internal/remote"
)

// A reboot of kamal-proxy hands the traffic over from the running proxy to
// a new container when both images can: the new one runs in the network
// namespace of the container that publishes the ports and takes the
// listening sockets over, so no request fails. Otherwise it stops the
// proxy and runs the new one, as Kamal does. See docs/proxy.md.

// handoverPlan is what a reboot found on a host.
type handoverPlan struct {
	current commands.ProxyState
	launch  *commands.ProxyLaunch
	// why the traffic cannot be handed over ("" when it can); empty too
	// when no proxy runs, which needs no hand-over.
	cannot string
}

// planHandover inspects the running proxy, the new image and the
// leftovers of an interrupted reboot on h.
func (k *Proxy) planHandover(ctx context.Context, h string, p *commands.Proxy) (handoverPlan, error) {
	return k.planHandoverOnce(ctx, h, p, true)
}

func (k *Proxy) planHandoverOnce(ctx context.Context, h string, p *commands.Proxy, first bool) (handoverPlan, error) {
	probe := commands.Chain(
		commands.InspectProxy(commands.ProxyContainer), commands.New("echo", staleSeparator),
		commands.InspectProxy(commands.ProxySuccessorContainer), commands.New("echo", staleSeparator),
	)
	launch := p.Launch()
	if launch == nil {
		probe = commands.Chain(probe, p.BootConfigLines())
	}
	out, err := k.capture(ctx, h, probe, remote.Info)
	if err != nil {
		return handoverPlan{}, err
	}
	parts := strings.SplitN(out+"\n", staleSeparator+"\n", 3)
	for len(parts) < 3 {
		parts = append(parts, "")
	}
	plan := handoverPlan{current: commands.ParseProxyState(parts[0])}
	if leftover := commands.ParseProxyState(parts[1]); leftover.Exists {
		if !first {
			return plan, fmt.Errorf("a new kamal-proxy container from an interrupted reboot is still on %s (%s)", h, commands.ProxySuccessorContainer)
		}
		if err := k.finishInterruptedHandover(ctx, h, plan.current, leftover); err != nil {
			return plan, err
		}
		return k.planHandoverOnce(ctx, h, p, false)
	}
	if launch == nil {
		if launch, err = commands.LaunchFromBootConfig(parts[2]); err != nil {
			plan.cannot = err.Error()
			return plan, nil
		}
	}
	plan.launch = launch
	switch {
	case !plan.current.Running:
		return plan, nil
	case plan.current.Handover != commands.ProxyHandoverProtocol:
		plan.cannot = "its image cannot hand over"
		return plan, nil
	}
	if _, err := commands.RunSuccessor(plan.current.ID, launch); err != nil {
		plan.cannot = err.Error()
		return plan, nil
	}
	label, err := k.capture(ctx, h, commands.ImageHandover(launch.Image), remote.Info)
	if err != nil {
		return plan, err
	}
	if label != commands.ProxyHandoverProtocol {
		plan.cannot = "the image " + launch.Image + " cannot take over"
	}
	return plan, nil
}

// finishInterruptedHandover deals with a new proxy container left by an
// interrupted reboot: if it took the traffic over, it gets its name;
// otherwise it goes.
func (k *Proxy) finishInterruptedHandover(ctx context.Context, h string, current, leftover commands.ProxyState) error {
	if leftover.Running {
		if ok, err := k.Test(ctx, h, commands.AwaitSuccessor("2s"), remote.Info); err != nil {
			return err
		} else if ok {
			k.Out.Infof("Finishing the interrupted hand-over of kamal-proxy on %s...", h)
			return k.Execute(ctx, h, commands.PromoteSuccessor(current.Holder == ""), remote.Info)
		}
	}
	// Killed, not stopped: a stopped proxy would release the ports held
	// for it.
	return k.Execute(ctx, h, commands.RemoveSuccessor(), remote.Info)
}

// handOver runs the new proxy beside the running one and, once it has
// taken the traffic over, gives it kamal-proxy's name. If it does not take
// over, it is removed and the running proxy keeps serving.
func (k *Proxy) handOver(ctx context.Context, h string, p *commands.Proxy, plan handoverPlan) error {
	holder, oldHolds := plan.current.Holder, plan.current.Holder == ""
	if oldHolds {
		holder = plan.current.ID
	}
	run, err := commands.RunSuccessor(holder, plan.launch)
	if err != nil {
		return err
	}
	// A proxy that got its sockets handed over exits once it handed them
	// on; Docker must not start it again.
	var keep, restore commands.Cmd
	if !oldHolds {
		keep = commands.SetProxyRestart(commands.ProxyContainer, "no")
		restore = commands.SetProxyRestart(commands.ProxyContainer, "unless-stopped")
	}
	k.Out.Infof("Handing the traffic of kamal-proxy on %s over to a new container...", h)
	if err := k.Execute(ctx, h, commands.Combine(p.EnsureAppsDirectory(), keep, run), remote.Info); err != nil {
		if len(restore) > 0 {
			_, _ = k.Test(ctx, h, restore, remote.Info)
		}
		return err
	}
	if ok, err := k.Test(ctx, h, commands.AwaitSuccessor("60s"), remote.Info); err != nil || !ok {
		logs, _ := k.capture(ctx, h, commands.SuccessorLogs(), remote.Info)
		_, _ = k.Test(ctx, h, commands.Chain(commands.RemoveSuccessor(), restore), remote.Info)
		if err == nil {
			err = errors.New("it did not take the traffic over")
		}
		return fmt.Errorf("new kamal-proxy on %s: %w; the running one keeps serving\n%s", h, err, strings.TrimSpace(logs))
	}
	return k.Execute(ctx, h, commands.PromoteSuccessor(oldHolds), remote.Info)
}
