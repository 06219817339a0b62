package security

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// PasswordForm is the form a client posts to the token route in the
// OAuth2 password flow (application/x-www-form-urlencoded), as FastAPI's
// OAuth2PasswordRequestForm.
type PasswordForm struct {
	GrantType    string `formData:"grant_type" pattern:"^password$" description:"Always password."`
	Username     string `formData:"username" required:"true"`
	Password     string `formData:"password" required:"true" format:"password"`
	Scope        string `formData:"scope" description:"The scopes asked for, separated by spaces."`
	ClientID     string `formData:"client_id"`
	ClientSecret string `formData:"client_secret" format:"password"`
}

// Scopes returns the scopes the client asked for.
func (f *PasswordForm) Scopes() []string { return strings.Fields(f.Scope) }

// Token is the answer of the token route.
type Token struct {
	AccessToken string `json:"access_token" required:"true"`
	TokenType   string `json:"token_type" required:"true" description:"Always bearer."`
	ExpiresIn   int    `json:"expires_in,omitempty" description:"Seconds until the token expires."`
}

// TokenRoute is the token route of the OAuth2 password flow at path (the
// tokenURL of OAuth2Password), for an App or a Group to include: it reads
// the PasswordForm and answers with the Token issue returns. When issue
// returns ErrInvalidCredentials the answer is a 401 {"detail":"Incorrect
// username or password"}; a *problem.HTTPError is answered as it is.
//
//	app.Include(security.TokenRoute("/token", issue))
func TokenRoute(path string, issue func(ctx context.Context, form *PasswordForm) (*Token, error)) route.Mounter {
	return tokenRoute{path: path, issue: issue}
}

type tokenRoute struct {
	path  string
	issue func(ctx context.Context, form *PasswordForm) (*Token, error)
}

// Mount adds the token route to s.
func (t tokenRoute) Mount(s route.Site) error {
	op := openapi.Operation{
		Method:  http.MethodPost,
		Path:    t.path,
		ID:      "login_for_access_token",
		Summary: "Log in for an access token",
		Tags:    []string{"auth"},
		Input:   new(PasswordForm),
		Output:  new(Token),
		Errors:  []int{http.StatusUnauthorized, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity},
	}
	log, issue := s.Logger(), t.issue
	s.Add(op, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		form, err := readForm(req)
		if err != nil {
			problem.Write(w, req, log, err)
			return
		}
		tok, err := issue(req.Context(), form)
		if errors.Is(err, ErrInvalidCredentials) {
			err = unauthorized(detailBadPassword, "Bearer", err)
		}
		if err == nil && tok == nil {
			err = errors.New("security: the token route's issue returned no token")
		}
		if err != nil {
			problem.Write(w, req, log, err)
			return
		}
		if tok.TokenType == "" {
			tok.TokenType = "bearer"
		}
		b, err := json.Marshal(tok)
		if err != nil {
			problem.Write(w, req, log, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.Write(b)
	}))
	return nil
}

// readForm reads and checks a PasswordForm.
func readForm(r *http.Request) (*PasswordForm, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, easy.NewHTTPError(http.StatusUnsupportedMediaType,
			"Unsupported Media Type: expected application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, easy.NewHTTPError(http.StatusRequestEntityTooLarge, "Request body is too large")
		}
		return nil, easy.BadRequest("The form could not be read")
	}
	f := &PasswordForm{
		GrantType:    r.PostForm.Get("grant_type"),
		Username:     r.PostForm.Get("username"),
		Password:     r.PostForm.Get("password"),
		Scope:        r.PostForm.Get("scope"),
		ClientID:     r.PostForm.Get("client_id"),
		ClientSecret: r.PostForm.Get("client_secret"),
	}
	var ve problem.ValidationError
	if f.GrantType != "" && f.GrantType != "password" {
		ve.Add("string_pattern_mismatch", []any{"body", "grant_type"}, "String should match pattern '^password$'", f.GrantType)
	}
	if _, ok := r.PostForm["username"]; !ok {
		ve.Add("missing", []any{"body", "username"}, "Field required", nil)
	}
	if _, ok := r.PostForm["password"]; !ok {
		ve.Add("missing", []any{"body", "password"}, "Field required", nil)
	}
	if err := ve.Err(); err != nil {
		return nil, err
	}
	return f, nil
}
