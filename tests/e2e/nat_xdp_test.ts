/**
 * The NAT end-to-end suite (nat_suite.ts) with `packet_io: af_xdp`: lvsd's
 * XDP program on the director's veths, one AF_XDP socket per queue, the lab
 * prepared as prepareForXdp (director.ts) says.
 */
import { natSuite } from "./nat_suite.ts";

natSuite("af_xdp");
