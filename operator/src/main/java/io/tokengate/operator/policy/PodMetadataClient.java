package io.tokengate.operator.policy;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;

/**
 * A client whose list and watch requests ask the API server for PartialObjectMetadata: the pod
 * informer then receives metadata only (labels, annotations, names), never pod specs. The fabric8
 * client turns each item into a {@code Pod} whose spec and status are empty.
 */
public final class PodMetadataClient {
  static final String LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
  static final String WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

  private PodMetadataClient() {}

  public static KubernetesClient from(KubernetesClient client) {
    return new KubernetesClientBuilder()
        .withConfig(client.getConfiguration())
        .withKubernetesSerialization(new KubernetesSerialization(nullListsAsEmpty(), true))
        .withHttpClientFactory(new JdkHttpClientFactory())
        .withHttpClientBuilderConsumer(
            builder -> builder.addOrReplaceInterceptor("partial-object-metadata", new Accept()))
        .build();
  }

  /**
   * The API server encodes an empty PartialObjectMetadataList as {@code "items": null}, which the
   * informer cannot list: this client reads null lists as empty ones.
   */
  private static ObjectMapper nullListsAsEmpty() {
    ObjectMapper mapper = new ObjectMapper();
    mapper.configOverride(List.class).setSetterInfo(JsonSetter.Value.forValueNulls(Nulls.AS_EMPTY));
    return mapper;
  }

  private static final class Accept implements Interceptor {
    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
      String query = request.uri().getRawQuery();
      boolean watch = query != null && query.contains("watch=true");
      builder.setHeader("Accept", watch ? WATCH : LIST);
    }
  }
}
