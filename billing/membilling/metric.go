package membilling

import (
	"context"
	"sort"
	"sync"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
)

// MetricStore implements billing.MetricStore in memory.
type MetricStore struct {
	mu      sync.Mutex
	metrics map[billing.ResourceType]billing.Metric
}

var _ billing.MetricStore = (*MetricStore)(nil)

// NewMetricStore returns an empty store.
func NewMetricStore() *MetricStore {
	return &MetricStore{metrics: map[billing.ResourceType]billing.Metric{}}
}

// Metrics implements billing.MetricStore.
func (s *MetricStore) Metrics(ctx context.Context) ([]billing.Metric, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]billing.Metric, 0, len(s.metrics))
	for _, m := range s.metrics {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out, nil
}

// CreateMetric implements billing.MetricStore.
func (s *MetricStore) CreateMetric(ctx context.Context, m billing.Metric) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.metrics[m.Code]; ok {
		return eusaas.E(eusaas.AlreadyExists, "metric exists")
	}
	if m.Price != nil {
		p := *m.Price
		p.Tiers = append([]billing.Tier(nil), p.Tiers...)
		m.Price = &p
	}
	s.metrics[m.Code] = m
	return nil
}
