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

func main() {
	file := flag.String("f", "docker-compose.yml", "Compose file")
	envFile := flag.String("env-file", "", "env file supplying the variables the Compose file requires")
	flag.Parse()

	opts := []cli.ProjectOptionsFn{cli.WithOsEnv}
	if *envFile != "" {
		opts = append(opts, cli.WithEnvFiles(*envFile), cli.WithDotEnv)
	}
	options, err := cli.NewProjectOptions([]string{*file}, opts...)
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
