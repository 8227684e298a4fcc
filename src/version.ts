/** lvsd's version (the admin API's status, `lvsd --version`, `lvsadm -v`). */
export const VERSION = "0.2.0";
/** The IPVS version ipvsadm prints in its listing header; lvsd implements its 1.2.1 interface. */
export const IPVS_VERSION = "1.2.1";
