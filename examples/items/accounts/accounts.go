// Package accounts gives the items app logins: users with bcrypt password
// hashes, the OAuth2 password flow (POST /token, as FastAPI's tutorial),
// sign-up at POST /users, and items owned by the user who created them,
// which the REST API and the realtime endpoint show to their owner only.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/ratelimit"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Item is a thing for sale, owned by the user who added it.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey" example:"1"`
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100" example:"apple"`
	Price float64 `json:"price" minimum:"0" example:"10.5"`
	Owner string  `json:"owner" easy:"readonly" gorm:"index" description:"The username of the owner, set by the server." example:"alice"`
}

// User is an account; the password is kept only as its bcrypt hash.
type User struct {
	ID       uint   `json:"id" gorm:"primaryKey"`
	Username string `json:"username" gorm:"uniqueIndex" required:"true" minLength:"3" maxLength:"40" pattern:"^[a-z0-9_]+$"`
	Hash     []byte `json:"-"`
}

// SignUp is the body of POST /users.
type SignUp struct {
	Username string `json:"username" required:"true" minLength:"3" maxLength:"40" pattern:"^[a-z0-9_]+$"`
	Password string `json:"password" required:"true" minLength:"8" maxLength:"72" format:"password"`
}

// maxPassword is the most bytes of a password bcrypt reads.
const maxPassword = 72

// TokenTTL is how long an access token lasts.
const TokenTTL = time.Hour

// Mount adds the accounts to app: the users table (which the App
// migrates as it does its routers' models), POST /users, POST
// /token, the owned items at /items and their realtime endpoint at
// /ws/items. secret signs the tokens (HS256). It returns the Manager of
// the realtime endpoint.
func Mount(app *easy.App, secret []byte) *ws.Manager {
	db := app.DB()
	app.AutoMigrate(&User{}) // with the App's other models, under its migration lock
	user := security.OAuth2Password("/token", security.JWT[security.Claims](security.JWTConfig{Key: secret}),
		security.TokenQuery("access_token"), security.Description("Sign in with a username and password."))
	// Guessing passwords is slow: ten tries a minute per client IP.
	guard := ratelimit.ByIP(ratelimit.Rate{Requests: 10, Per: time.Minute})
	auth := app.Group("", easy.Tags("auth"), easy.Uses(guard))

	auth.Include(security.TokenRoute("/token", func(ctx context.Context, f *security.PasswordForm) (*security.Token, error) {
		var u User
		err := db.WithContext(ctx).Where("username = ?", f.Username).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			// Compare anyway, so an unknown name takes as long as a wrong password.
			bcrypt.CompareHashAndPassword(dummyHash(), []byte(f.Password))
			return nil, security.ErrInvalidCredentials
		}
		if err != nil {
			return nil, err
		}
		// bcrypt reads 72 bytes and ignores the rest: a longer password
		// would let its first 72 bytes plus anything in.
		if len(f.Password) > maxPassword || bcrypt.CompareHashAndPassword(u.Hash, []byte(f.Password)) != nil {
			return nil, security.ErrInvalidCredentials
		}
		return issue(secret, u.Username)
	}))
	easy.Post(auth, "/users", func(ctx context.Context, in *SignUp) (*User, error) {
		if n := len(in.Password); n > maxPassword {
			// maxLength counts characters; bcrypt counts bytes. The
			// password itself is not echoed.
			return nil, problem.Invalid("string_too_long", []any{"body", "password"},
				fmt.Sprintf("String should have at most %d bytes, not %d", maxPassword, n), "")
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		u := &User{Username: in.Username, Hash: hash}
		if err := db.WithContext(ctx).Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) || isUnique(db, in.Username) {
				return nil, easy.Conflict("Username is taken")
			}
			return nil, err
		}
		return u, nil
	}, easy.Status(http.StatusCreated), easy.Errors(http.StatusConflict), easy.Summary("Sign up"))

	// One row rule, for REST and realtime alike: a user sees their own items.
	owner := query.Rows("owner", func(ctx context.Context) (any, error) { return user.From(ctx).Subject, nil })
	app.Include(easy.CRUDRouter[Item](crud.Uses(user), crud.Policy(owner)))
	// A refused token closes the WebSocket with 1008 and the reason, which
	// a page can show, rather than a 401 it cannot see.
	m := ws.NewManager(ws.Secure(user), ws.Policy(Item{}, owner), ws.CloseOnAuthFailure())
	m.Watch(app, Item{})
	return m
}

// issue signs an access token for username.
func issue(secret []byte, username string) (*security.Token, error) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, security.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   username,
		IssuedAt:  jwt.NewNumericDate(time.Now()),
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(TokenTTL)),
	}}).SignedString(secret)
	if err != nil {
		return nil, err
	}
	return &security.Token{AccessToken: tok, ExpiresIn: int(TokenTTL / time.Second)}, nil
}

// isUnique reports whether username is taken, after an insert failed:
// not every driver reports a duplicate as gorm.ErrDuplicatedKey.
func isUnique(db *gorm.DB, username string) bool {
	var n int64
	db.Model(&User{}).Where("username = ?", username).Count(&n)
	return n > 0
}

// dummyHash is compared against when a username is unknown.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
	return h
})
