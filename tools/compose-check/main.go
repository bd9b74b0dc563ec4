// Command compose-check loads a Compose file with compose-go, the library `docker compose` itself uses, so the
// file is checked against the Compose Specification schema, interpolation and cross-references on machines
// that have no Docker engine. It prints the resolved project as JSON, or the loader's error and exits 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

type files []string

func (f *files) String() string     { return fmt.Sprint(*f) }
func (f *files) Set(s string) error { *f = append(*f, s); return nil }

func main() {
	var composeFiles files
	flag.Var(&composeFiles, "f", "Compose file (repeatable: later files override earlier ones, as with docker compose -f)")
	envFile := flag.String("env-file", "", "env file supplying the variables the Compose file requires")
	flag.Parse()
	if len(composeFiles) == 0 {
		composeFiles = files{"docker-compose.yml"}
	}

	opts := []cli.ProjectOptionsFn{cli.WithOsEnv}
	if *envFile != "" {
		opts = append(opts, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions(composeFiles, opts...)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
