package io.tokengate.sidecar.http;

import io.tokengate.sidecar.validation.DpopBinding;
import io.tokengate.sidecar.validation.GateFailure;
import java.util.List;

/**
 * The {@code WWW-Authenticate} challenges of one policy. A request without a token is told every
 * scheme it may use ({@code Bearer}, unless DPoP is required, and {@code DPoP} with the proof
 * algorithms, RFC 9449 section 7.1); a refused token is challenged in the scheme it came with, or
 * in {@code DPoP} when the failure is about DPoP or DPoP is required. With resource metadata
 * served, every challenge names it ({@code resource_metadata}, RFC 9728 section 5.1).
 */
public final class Challenges {
  private final String bearer;
  private final String dpop;
  private final String metadata;
  private final boolean dpopRequired;

  /**
   * @param policyId the realm
   * @param dpopRequired only DPoP-bound tokens are accepted
   * @param resourceMetadataUrl the metadata URL, or null when none is served
   */
  public Challenges(String policyId, boolean dpopRequired, String resourceMetadataUrl) {
    this.bearer = "Bearer realm=\"" + policyId + "\"";
    this.dpop = "DPoP realm=\"" + policyId + "\", algs=\"" + DpopBinding.ALGORITHMS + "\"";
    this.metadata =
        resourceMetadataUrl == null
            ? ""
            : ", resource_metadata=\"" + Refusal.safe(resourceMetadataUrl) + "\"";
    this.dpopRequired = dpopRequired;
  }

  /** The challenges for {@code f}; {@code dpopPresented}: the token came with the DPoP scheme. */
  public List<String> of(GateFailure f, boolean dpopPresented) {
    if (f.error() == null && f.status() == 401) {
      return dpopRequired ? List.of(dpop + metadata) : List.of(bearer + metadata, dpop + metadata);
    }
    boolean inDpop = f.dpop() || dpopPresented || dpopRequired;
    return List.of(Refusal.challenge(inDpop ? dpop : bearer, f) + metadata);
  }
}
