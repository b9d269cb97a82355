// Command app-assets is the app image with static assets for the
// asset_path scenarios: the image build runs `/app seed-assets`, which
// writes /public/assets/<VERSION>.txt and /public/assets/shared.txt, and
// the server answers /assets/NAME from that directory (the volume Kamal
// mounts there, holding this version's and the previous version's files).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kamalgo/kamal/internal/testhosts/images/internal/webapp"
)

const assetDir = "/public/assets"

func main() {
	if len(os.Args) == 2 && os.Args[1] == "seed-assets" {
		if err := seed(os.Getenv("VERSION")); err != nil {
			fmt.Fprintln(os.Stderr, "seed-assets:", err)
			os.Exit(1)
		}
		return
	}
	webapp.Main(webapp.Behaviour{DefaultName: "app-assets", AssetDir: assetDir})
}

func seed(version string) error {
	if version == "" {
		return fmt.Errorf("VERSION is not set")
	}
	if err := os.MkdirAll(assetDir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		version + ".txt": "asset of " + version + "\n",
		"shared.txt":     "shared from " + version + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(assetDir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
