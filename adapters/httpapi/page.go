package httpapi

import "github.com/eusaas/eusaas"

// PageQuery is embedded in list inputs: page 1..MaxPage, page_size 1..100 (default 20).
type PageQuery struct {
	Page     int `query:"page" minimum:"1" maximum:"10000000" default:"1" doc:"Page number, from 1"`
	PageSize int `query:"page_size" minimum:"1" maximum:"100" default:"20" doc:"Items per page"`
}

// MaxPage bounds the page number so (page-1)*page_size stays far from overflow (and from
// OFFSETs no store answers quickly): ten million pages of 100 is more than any list holds.
const MaxPage = 10_000_000

// ToPage converts the query into the domain's page request.
func (q PageQuery) ToPage() eusaas.Page {
	p, _ := eusaas.Page{Page: q.Page, Size: q.PageSize}.Normalize()
	return p
}

// Pagination describes where a page sits in the whole list.
type Pagination struct {
	Page       int `json:"page"`
	PageSize   int `json:"page_size"`
	TotalItems int `json:"total_items"`
	TotalPages int `json:"total_pages"`
}

// Paginated is the body of every list endpoint.
type Paginated[T any] struct {
	Items      []T        `json:"items"`
	Pagination Pagination `json:"pagination"`
}

// NewPaginated builds a list body; items is never rendered as null.
func NewPaginated[T any](items []T, total int, page eusaas.Page) Paginated[T] {
	if items == nil {
		items = []T{}
	}
	pages := 0
	if page.Size > 0 {
		pages = (total + page.Size - 1) / page.Size
	}
	return Paginated[T]{Items: items, Pagination: Pagination{Page: page.Page, PageSize: page.Size, TotalItems: total, TotalPages: pages}}
}
