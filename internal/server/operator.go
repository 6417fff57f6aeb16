package server

// Operator mode (issue #8): on when SOTTO_SECRET is set. Creating or
// joining a room then takes a token the embedding app's backend signs
// (docs/tokens.md), and the operator API (docs/api.md) answers under /api/.
// The secret comes from the environment only, never a flag: a flag shows in
// every process listing.

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"sotto/operator"
	"sotto/room"
	sig "sotto/signal"
)

// operatorSecretEnv names the environment variable that turns operator mode on.
const operatorSecretEnv = "SOTTO_SECRET"

// readOperatorSecret returns the operator secret, nil when operator mode is
// off, or why the one given is unusable (too short).
func readOperatorSecret(getenv func(string) string) ([]byte, error) {
	v := getenv(operatorSecretEnv)
	if v == "" {
		return nil, nil
	}
	secret := []byte(v)
	if err := operator.CheckSecret(secret); err != nil {
		return nil, fmt.Errorf("%s: %w", operatorSecretEnv, err)
	}
	return secret, nil
}

// admitWith checks create and join tokens for the signaling server.
func admitWith(v *operator.Verifier) sig.AdmitFunc {
	return func(token string, id room.ID) (sig.Admission, error) {
		c, err := v.Check(token, id)
		switch {
		case err == nil:
			return sig.Admission{User: c.User, Role: c.Role, Undo: func() { v.Release(c) }}, nil
		case errors.Is(err, operator.ErrTokenMissing):
			return sig.Admission{}, sig.ErrTokenMissing
		case errors.Is(err, operator.ErrTokenMalformed), errors.Is(err, operator.ErrTokenSignature),
			errors.Is(err, operator.ErrTokenWrongRoom):
			return sig.Admission{}, sig.ErrTokenInvalid
		case errors.Is(err, operator.ErrTokenExpired), errors.Is(err, operator.ErrTokenLifetime):
			return sig.Admission{}, sig.ErrTokenExpired
		case errors.Is(err, operator.ErrTokenReplayed):
			return sig.Admission{}, sig.ErrTokenReplayed
		case errors.Is(err, operator.ErrBusy):
			return sig.Admission{}, sig.ErrTokenBusy
		}
		return sig.Admission{}, err
	}
}

// operatorRooms is the registry as the operator API sees it. media, if not
// nil, is told to drop a removed member's media session at once (its
// connection may take up to the close grace to finish).
type operatorRooms struct {
	reg   *room.Registry
	media interface {
		Leave(id [16]byte, member uuid.UUID)
	}
}

func (o operatorRooms) Rooms() []operator.RoomInfo {
	infos := o.reg.Rooms()
	out := make([]operator.RoomInfo, len(infos))
	for i, r := range infos {
		out[i] = operator.RoomInfo{ID: r.ID, Members: r.Members, Listeners: r.Listeners}
	}
	return out
}

func (o operatorRooms) RemoveUser(id room.ID, user string) (int, error) {
	removed, err := o.reg.RemoveUserMembers(id, user)
	if o.media != nil {
		for _, m := range removed {
			o.media.Leave(id, m)
		}
	}
	return len(removed), err
}

func (o operatorRooms) SetUserRole(id room.ID, user string, r room.Role) (int, error) {
	n, err := o.reg.SetUserRole(id, user, r)
	if errors.Is(err, room.ErrNoSuchMember) {
		err = operator.ErrNoSuchUser
	}
	return n, err
}

// withOperatorAPI mounts the API at /api/ in front of the app's routes.
func withOperatorAPI(app http.Handler, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", app)
	return mux
}
