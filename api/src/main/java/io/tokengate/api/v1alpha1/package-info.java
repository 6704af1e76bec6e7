/**
 * The {@code tokengate.io/v1alpha1} API: {@link io.tokengate.api.v1alpha1.tokenissuer.TokenIssuer},
 * {@link io.tokengate.api.v1alpha1.tokenissuer.ClusterTokenIssuer} and {@link
 * io.tokengate.api.v1alpha1.apipolicy.ApiPolicy}.
 *
 * <p>Defaults and validation live in the CRD schema generated from these classes (see {@code
 * crds/}); code never fills defaults into a user's spec. Readers that load the YAML outside the API
 * server (the sidecar, tests) apply the same defaults through the field initialisers.
 */
package io.tokengate.api.v1alpha1;
