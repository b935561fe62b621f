package eusaas

// Page is a request for one page of a list: Page >= 1, Size 1..100.
type Page struct {
	Page int
	Size int
}

// Default and maximum page sizes of the REST contract.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Normalize fills defaults and reports an InvalidArgument error for out-of-range values.
func (p Page) Normalize() (Page, error) {
	var v Violations
	if p.Page == 0 {
		p.Page = 1
	}
	if p.Size == 0 {
		p.Size = DefaultPageSize
	}
	if p.Page < 1 {
		v.Add("query.page", "must be at least 1")
	}
	if p.Size < 1 || p.Size > MaxPageSize {
		v.Add("query.page_size", "must be between 1 and 100")
	}
	return p, v.Err()
}

// Offset is the number of items before the page.
func (p Page) Offset() int { return (p.Page - 1) * p.Size }

// List is one page of items and the total count.
type List[T any] struct {
	Items []T
	Total int
}
