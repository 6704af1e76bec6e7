package io.tokengate.sidecar.http;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.InternetProtocolFamily;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.net.ClientOptionsBase;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.transport.Transport;
import java.util.concurrent.ThreadFactory;

/**
 * The native (epoll) or NIO transport, with one addition: every listening socket gets the {@link
 * ConnectionBudget.AcceptHook}, so connections to the gate's port are counted and bounded from the
 * moment they are accepted, not from when Vert.x has parsed their first request head.
 */
public final class GuardedTransport implements Transport {
  private final Transport base;
  private final Impl impl;

  private GuardedTransport(Transport base) {
    this.base = base;
    this.impl = new Impl(base.implementation());
  }

  /** Wraps the native transport when it is available, else NIO. */
  public static GuardedTransport preferNative() {
    Transport t = Transport.nativeTransport();
    return new GuardedTransport(t != null && t.available() ? t : Transport.NIO);
  }

  /**
   * Connections accepted on {@code port} are counted and guarded (see {@link ConnectionBudget}).
   */
  public static void guardPort(int port) {
    ConnectionBudget.guardPort(port);
  }

  public static void unguardPort(int port) {
    ConnectionBudget.unguardPort(port);
  }

  @Override
  public String name() {
    return base.name();
  }

  @Override
  public boolean available() {
    return base.available();
  }

  @Override
  public Throwable unavailabilityCause() {
    return base.unavailabilityCause();
  }

  @Override
  public io.vertx.core.spi.transport.Transport implementation() {
    return impl;
  }

  private static final class Impl implements io.vertx.core.spi.transport.Transport {
    private final io.vertx.core.spi.transport.Transport d;

    Impl(io.vertx.core.spi.transport.Transport d) {
      this.d = d;
    }

    @Override
    public boolean supportsDomainSockets() {
      return d.supportsDomainSockets();
    }

    @Override
    public boolean supportFileRegion() {
      return d.supportFileRegion();
    }

    @Override
    public boolean isAvailable() {
      return d.isAvailable();
    }

    @Override
    public Throwable unavailabilityCause() {
      return d.unavailabilityCause();
    }

    @Override
    public java.net.SocketAddress convert(SocketAddress address) {
      return d.convert(address);
    }

    @Override
    public SocketAddress convert(java.net.SocketAddress address) {
      return d.convert(address);
    }

    @Override
    public IoHandlerFactory ioHandlerFactory() {
      return d.ioHandlerFactory();
    }

    @Override
    public EventLoopGroup eventLoopGroup(
        int type, int nThreads, ThreadFactory threadFactory, int ioRatio) {
      return d.eventLoopGroup(type, nThreads, threadFactory, ioRatio);
    }

    @Override
    public DatagramChannel datagramChannel() {
      return d.datagramChannel();
    }

    @Override
    public DatagramChannel datagramChannel(InternetProtocolFamily family) {
      return d.datagramChannel(family);
    }

    @Override
    public ChannelFactory<? extends Channel> channelFactory(boolean domainSocket) {
      return d.channelFactory(domainSocket);
    }

    @Override
    public ChannelFactory<? extends ServerChannel> serverChannelFactory(boolean domainSocket) {
      return d.serverChannelFactory(domainSocket);
    }

    @Override
    public void configure(DatagramChannel channel, DatagramSocketOptions options) {
      d.configure(channel, options);
    }

    @Override
    public void configure(
        ClientOptionsBase options, int connectTimeout, boolean domainSocket, Bootstrap bootstrap) {
      d.configure(options, connectTimeout, domainSocket, bootstrap);
    }

    @Override
    public void configure(NetServerOptions options, boolean domainSocket, ServerBootstrap b) {
      d.configure(options, domainSocket, b);
      b.handler(ConnectionBudget.AcceptHook.INSTANCE);
    }
  }
}
