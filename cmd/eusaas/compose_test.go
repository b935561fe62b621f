package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// composeService is the part of a Compose service the checks read.
type composeService struct {
	Image       string            `yaml:"image"`
	Build       *composeBuild     `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   yaml.Node         `yaml:"depends_on"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

// generatedPaths are bind-mount sources the operator makes before `up` (see the file's header).
var generatedPaths = map[string]bool{"./keys": true}

// TestComposeFile validates deploy/compose.yaml statically (no Docker engine here): it parses,
// runs the whole stack, every pulled image has a pinned tag, every bind-mounted file exists,
// and Prometheus and Grafana find what they are configured to load.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	require.NoError(t, err)
	var file struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &file))
	for _, name := range []string{"postgres", "redis", "migrate", "migrate-tenants", "eusaas", "worker",
		"prometheus", "grafana", "loki", "promtail", "minio"} {
		require.Contains(t, file.Services, name)
	}
	require.Equal(t, []string{"migrate", "tenants"}, file.Services["migrate-tenants"].Command)
	require.Equal(t, []string{"serve"}, file.Services["eusaas"].Command)
	require.Equal(t, []string{"worker"}, file.Services["worker"].Command)

	mounts := map[string]map[string]string{} // service -> target -> source
	for name, svc := range file.Services {
		if svc.Build != nil {
			require.FileExists(t, filepath.Join(deployDir, svc.Build.Context, svc.Build.Dockerfile), name)
		} else {
			require.NotEmpty(t, svc.Image, "%s has neither image nor build", name)
			i := strings.LastIndex(svc.Image, ":")
			require.Greater(t, i, 0, "%s: image %s has no tag", name, svc.Image)
			tag := svc.Image[i+1:]
			require.NotContains(t, tag, "/", "%s: image %s has no tag", name, svc.Image)
			require.NotEqual(t, "latest", tag, "%s: image %s", name, svc.Image)
			require.True(t, strings.ContainsAny(tag, "0123456789"), "%s: tag %q names no version", name, tag)
		}
		mounts[name] = map[string]string{}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			require.GreaterOrEqual(t, len(parts), 2, "%s: volume %q", name, v)
			src, dst := parts[0], parts[1]
			mounts[name][dst] = src
			switch {
			case strings.HasPrefix(src, "./"):
				if !generatedPaths[src] {
					_, err := os.Stat(filepath.Join(deployDir, src))
					require.NoError(t, err, "%s mounts %s", name, src)
				}
			case strings.HasPrefix(src, "/"): // host paths (the Docker socket)
			default:
				require.Contains(t, file.Volumes, src, "%s: named volume %s not declared", name, src)
			}
		}
		var deps []string
		switch svc.DependsOn.Kind {
		case yaml.SequenceNode:
			require.NoError(t, svc.DependsOn.Decode(&deps))
		case yaml.MappingNode:
			var m map[string]any
			require.NoError(t, svc.DependsOn.Decode(&m))
			for k := range m {
				deps = append(deps, k)
			}
		}
		for _, d := range deps {
			require.Contains(t, file.Services, d, "%s depends on an unknown service", name)
		}
	}

	// Prometheus loads the mounted rules and scrapes the API and the worker's metrics port.
	raw, err = os.ReadFile(filepath.Join(deployDir, "prometheus/prometheus.yml"))
	require.NoError(t, err)
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &prom))
	require.NotEmpty(t, prom.RuleFiles)
	for _, f := range prom.RuleFiles {
		require.Equal(t, "./prometheus/rules.yaml", mounts["prometheus"][f], "rule file %s is not the mounted rules.yaml", f)
	}
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		require.Equal(t, "eusaas", sc.JobName, "the alert rules select job=\"eusaas\"")
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	workerAddr := file.Services["worker"].Environment["APP_WORKER_METRICS_ADDR"]
	require.NotEmpty(t, workerAddr, "the worker serves no metrics")
	require.ElementsMatch(t, []string{"eusaas:8000", "worker" + workerAddr}, targets)

	// Grafana provisions the dashboards from where compose mounts them.
	raw, err = os.ReadFile(filepath.Join(deployDir, "grafana/provisioning/dashboards/dashboards.yaml"))
	require.NoError(t, err)
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &prov))
	require.Len(t, prov.Providers, 1)
	require.Equal(t, "./grafana/dashboards", mounts["grafana"][prov.Providers[0].Options.Path])
	require.Equal(t, "./grafana/provisioning", mounts["grafana"]["/etc/grafana/provisioning"])
	for _, f := range []string{"grafana/provisioning/datasources/datasources.yaml", "loki/loki.yaml", "promtail/promtail.yaml"} {
		raw, err := os.ReadFile(filepath.Join(deployDir, f))
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(raw, &doc), f)
		require.NotEmpty(t, doc, f)
	}
}
