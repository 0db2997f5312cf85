/*
 * bare_read.c — the baseline of the capture benchmark: a bare libpcap read loop.
 *
 * bench/capture/run.sh measures callscope-capture against the fastest a
 * program can possibly go over the same file with the same library: open the
 * file with pcap_open_offline(), call pcap_next_ex() until the end, count the
 * frames and their captured bytes. Nothing is decoded, copied or written, so
 * the time is libpcap's own (stdio reads from the page cache plus the record
 * walk) and "capture pps / bare pps" is the share of the machine that is left
 * to capture once the reading itself is paid for.
 *
 * Output, one line on stdout, for the driver script to parse:
 *   packets=N bytes=N seconds=S pps=P mbps=M
 * bytes are captured bytes (the sum of caplen, the same figure as capture's
 * "bytes" counter), mbps is 10^6 bytes per second, seconds is the monotonic
 * time from before pcap_open_offline() to after the last record.
 *
 * Exit: 0 the whole file was read; 1 the file could not be opened or is
 * corrupt (the figures so far are still printed); 2 usage.
 *
 * SECURITY: reads a capture file, but libpcap bounds every record and this
 * program never looks inside one. Not a parser; no fuzz target.
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    uint64_t packets = 0, bytes = 0;
    int rc, status = 0;

    if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(argc == 2 ? stdout : stderr,
                "Usage: %s FILE\n"
                "Reads FILE with pcap_open_offline() + pcap_next_ex() and prints\n"
                "packets=N bytes=N seconds=S pps=P mbps=M (bytes = sum of caplen).\n",
                argv[0]);
        return argc == 2 ? 0 : 2;
    }

    double t0 = mono_s();
    errbuf[0] = '\0';
    pcap_t *p = pcap_open_offline(argv[1], errbuf);
    if (p == NULL) {
        fprintf(stderr, "%s: %s\n", argv[0], errbuf);
        return 1;
    }
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        packets++;
        bytes += hdr->caplen;
    }
    double secs = mono_s() - t0;
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], pcap_geterr(p));
        status = 1;
    }
    pcap_close(p);
    (void)data;

    printf("packets=%llu bytes=%llu seconds=%.6f pps=%.0f mbps=%.1f\n", (unsigned long long)packets,
           (unsigned long long)bytes, secs, secs > 0 ? (double)packets / secs : 0.0,
           secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
    return status;
}
