// Our HTTP/3 (RFC 9114) + QPACK (RFC 9204, zero-capacity dynamic table) over the raw quiche
// binding. See quic.ts for the transport layer, session.ts for the HTTP/3 connection core.
export { connect, H3Client, type ConnectOptions, type ResponseSink, type H3ClientRequest, type H3Response } from './client.ts';
export { listen, H3Server, PushBody, type ListenOptions, type H3Handler, type H3Request, type H3Reply, type ConnectionClosedInfo } from './server.ts';
export { h3Support } from './binding.ts';
export { H3Error, QuicError, H3UnsupportedError, H3Code } from './errors.ts';
export { CC_ALGORITHMS, QuicIdleTimeout, type CcAlgorithm } from './quic.ts';
export { WtSession, WtStream, WtRegistry } from './webtransport.ts';
