package main

import (
	"net/http"

	"github.com/eusaas/eusaas/adapters/console"
)

// mountConsole serves the web console at /console/ (and sends / there). The console calls
// the API handler in process, so it must be mounted after every route is registered; it
// sees the same router the network does.
func (a *App) mountConsole() error {
	api := a.server.Handler()
	c, err := console.New(console.Options{
		API:           api,
		Authenticator: a.platform.Auth,
		PublicURL:     a.cfg.GDPR.PublicURL,
		Logger:        a.log,
	})
	if err != nil {
		return err
	}
	r := a.server.Router()
	r.Handle(console.Prefix, http.RedirectHandler(console.Prefix+"/", http.StatusMovedPermanently))
	r.Handle(console.Prefix+"/*", c)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix+"/", http.StatusFound)
	})
	// The links of the mails (auth.RenderMail: APP_PUBLIC_URL + path + #token=...) land on
	// the console's forms; browsers keep the fragment across the redirect.
	for from, to := range map[string]string{"/reset-password": "/reset", "/accept-invitation": "/accept", "/verify-email": "/verify"} {
		r.Get(from, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, console.Prefix+to, http.StatusFound)
		})
	}
	return nil
}
