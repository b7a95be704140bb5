package daemon

import (
	"github.com/orderd/orderd/daemon/demo"
	"github.com/orderd/orderd/daemon/parts"
)

// demoKafkaPart runs the demo's in-process Kafka cluster, which every other
// part uses as its broker; it stops last.
func (d *daemon) demoKafkaPart() parts.Part {
	if !d.cfg.Demo {
		return parts.Part{}
	}
	return parts.Part{
		Name: "demo kafka",
		Start: func() (err error) {
			if d.demo, err = demo.Start(d.cfg, d.component("demo")); err != nil {
				return err
			}
			d.brokers = d.demo.Brokers
			return nil
		},
		Stop: func() error { d.demo.Close(); return nil },
	}
}

// demoFeedPart publishes the demo's orders until stopped, which it is
// before the pipeline stops consuming.
func (d *daemon) demoFeedPart() parts.Part {
	if !d.cfg.Demo {
		return parts.Part{}
	}
	bg := parts.NewBackground()
	return parts.Part{
		Name: "demo feed",
		Start: func() error {
			d.demo.BaseURL = browseURL(d.httpAddr)
			bg.Go(d.demo.Feed)
			return nil
		},
		Stop: func() error { bg.Stop(); return nil },
	}
}
