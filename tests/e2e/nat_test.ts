/**
 * End to end through real network namespaces: real kernel TCP/UDP stacks on
 * a client and three real servers, lvsd as the NAT director in between, on
 * AF_PACKET (nat_xdp_test.ts runs the same suite on AF_XDP).
 */
import { natSuite } from "./nat_suite.ts";

natSuite("af_packet");
