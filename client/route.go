package client

import (
	"fmt"
	"net/url"
)

// Routing keys in the signaling URL (docs/cluster.md): a load balancer in
// front of several nodes sends each connection to the node that holds its
// room by a query parameter, because the room travels only inside messages
// it cannot read. The server learns nothing new from them: it sees the room
// id in join/create/resume and the nameplate in knock already, and refuses
// a message that names another room than the URL did.
const (
	routeRoomParam      = "r"  // the room id, base64url: create, join, resume
	routeNameplateParam = "np" // the nameplate: a knock with a typed code
)

// routedURL returns the signaling URL with one routing key set, replacing
// any the caller's URL already had.
func routedURL(signalingURL, param, value string) (string, error) {
	u, err := url.Parse(signalingURL)
	if err != nil {
		return "", fmt.Errorf("client: signaling URL: %w", err)
	}
	q := u.Query()
	q.Del(routeRoomParam)
	q.Del(routeNameplateParam)
	q.Set(param, value)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
