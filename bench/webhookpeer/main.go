// A minimal compiled mutating webhook: the peer of bench/admission.py.
//
// It does the least a webhook can: TLS (verifying the apiserver's client certificate
// when one is presented, as Kuorum's webhook does), decode the AdmissionReview, and
// answer allowed with a fixed JSON patch (the one Kuorum's webhook returns for the
// benchmark's pod, so the apiserver does the same work after the answer). No cache, no
// policy, no logging.
//
//	webhookpeer ADDRESS CERT KEY CLIENT_CA PATCH_FILE
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log"
	"net/http"
	"os"
)

type review struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Request    struct {
		UID string `json:"uid"`
	} `json:"request"`
}

type response struct {
	UID       string `json:"uid"`
	Allowed   bool   `json:"allowed"`
	PatchType string `json:"patchType"`
	Patch     []byte `json:"patch"`
}

func main() {
	if len(os.Args) != 6 {
		log.Fatal("usage: webhookpeer ADDRESS CERT KEY CLIENT_CA PATCH_FILE")
	}
	address, cert, key, clientCA, patchFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	patch, err := os.ReadFile(patchFile)
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile(clientCA)
	if err != nil {
		log.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		log.Fatalf("%s: no certificate", clientCA)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", func(w http.ResponseWriter, r *http.Request) {
		var in review
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": in.APIVersion,
			"kind":       in.Kind,
			"response":   response{in.Request.UID, true, "JSONPatch", patch},
		})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {})
	server := &http.Server{
		Addr:      address,
		Handler:   mux,
		TLSConfig: &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool},
	}
	log.Fatal(server.ListenAndServeTLS(cert, key))
}
