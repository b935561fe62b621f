package console

import (
	"encoding/base64"
	"fmt"
	"strings"

	"rsc.io/qr"
)

// qrDataURL draws s as a QR code in SVG, as a data: URL for an <img> (the CSP allows data:
// images, and nothing inline is needed). rsc.io/qr is already in the workspace (the invoice
// PDFs' payment code); "" when s does not fit a QR code.
func qrDataURL(s string) string {
	code, err := qr.Encode(s, qr.M)
	if err != nil {
		return ""
	}
	const quiet = 4 // the quiet zone the standard asks for, in modules
	n := code.Size + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(b.String()))
}
