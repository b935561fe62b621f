package gdpr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
)

// The Art. 30(2) record of the processing the platform carries out for its tenants (the
// controllers), built from the data map the wiring declares: every store of personal data
// with its categories, purpose, retention and erasure path.

// DataMapEntry is one store of personal data.
type DataMapEntry struct {
	Module string `json:"module"`
	// Store is the table (tenant schema) or eusaas.table (platform schema).
	Store              string   `json:"store"`
	DataCategories     []string `json:"data_categories"`
	SubjectCategories  []string `json:"subject_categories"`
	Purpose            string   `json:"purpose"`
	Retention          string   `json:"retention"`
	Erasure            string   `json:"erasure"`
	PersonalDataFields []string `json:"personal_data_fields,omitempty"`
}

// SubProcessor is a recipient of personal data (Art. 30(2)(b), 28(2)).
type SubProcessor struct {
	Name     string `json:"name"`
	Purpose  string `json:"purpose"`
	Location string `json:"location"`
}

// RecordsOfProcessing is the Art. 30(2) record.
type RecordsOfProcessing struct {
	GeneratedAt time.Time `json:"generated_at"`
	Processor   string    `json:"processor"`
	Controllers string    `json:"controllers"`
	// Categories of processing carried out for each controller, per module and store.
	Categories    []DataMapEntry `json:"categories"`
	SubProcessors []SubProcessor `json:"sub_processors"`
	Transfers     string         `json:"third_country_transfers"`
	Security      []string       `json:"security_measures"`
}

// SecurityMeasures are the Art. 32 measures the platform itself implements (Art. 30(2)(d)).
var SecurityMeasures = []string{
	"tenant isolation: one schema per tenant, every statement scoped to its tenant",
	"passwords hashed with Argon2id; access tokens RS256-signed and short-lived, refresh tokens rotated",
	"tamper-evident audit log: hash chain with signed checkpoints; personal values kept beside the chain and erasable",
	"erasure backups encrypted per tenant (AES-256-GCM), keys sealed with a key-encryption key outside the database and destroyed after the backup period (crypto-shredding)",
	"export archives and erasure certificates signed (Ed25519) and verifiable offline",
	"retention enforced per tenant policy: soft then hard deletion, paused by legal holds",
	"data minimisation in the audit API: members and viewers see other persons' personal values masked",
}

// RecordsOfProcessing builds the record from the data map and sub-processors in Options.
func (s *Service) RecordsOfProcessing(processor string) RecordsOfProcessing {
	if processor == "" {
		processor = "the operator of this eusaas deployment"
	}
	r := RecordsOfProcessing{GeneratedAt: s.clock.Now().UTC(), Processor: processor,
		Controllers: "each tenant, for the personal data of its users and customers",
		Categories:  slices.Clone(s.o.DataMap), SubProcessors: slices.Clone(s.o.SubProcessors),
		Transfers: "none by the platform; a sub-processor outside the EEA is listed with its location",
		Security:  SecurityMeasures}
	if r.Categories == nil {
		r.Categories = []DataMapEntry{}
	}
	if r.SubProcessors == nil {
		r.SubProcessors = []SubProcessor{}
	}
	return r
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// Markdown renders the record as a document for the controller's or authority's file.
func (r RecordsOfProcessing) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Record of processing activities (GDPR Art. 30(2))\n\nGenerated %s.\n\n", r.GeneratedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "- **Processor:** %s\n- **Controllers:** %s\n- **Transfers to third countries:** %s\n\n", r.Processor, r.Controllers, r.Transfers)
	b.WriteString("## Categories of processing\n\n| Module | Store | Personal data | Data subjects | Purpose | Retention | Erasure |\n|---|---|---|---|---|---|---|\n")
	for _, c := range r.Categories {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s |\n", mdCell(c.Module), mdCell(c.Store), mdCell(strings.Join(c.DataCategories, ", ")),
			mdCell(strings.Join(c.SubjectCategories, ", ")), mdCell(c.Purpose), mdCell(c.Retention), mdCell(c.Erasure))
	}
	b.WriteString("\n## Sub-processors (recipients)\n\n")
	if len(r.SubProcessors) == 0 {
		b.WriteString("None configured.\n")
	} else {
		b.WriteString("| Name | Purpose | Location |\n|---|---|---|\n")
		for _, p := range r.SubProcessors {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(p.Name), mdCell(p.Purpose), mdCell(p.Location))
		}
	}
	b.WriteString("\n## Technical and organisational security measures (Art. 32)\n\n")
	for _, m := range r.Security {
		fmt.Fprintf(&b, "- %s\n", m)
	}
	return b.String()
}

// TenantTables lists the tenant's tables as the service's TenantData sees them (the data
// map's coverage test compares them with the map).
func (s *Service) TenantTables(ctx context.Context, tenant eusaas.TenantID) ([]Table, error) {
	return s.d.Data.Tables(ctx, tenant)
}
