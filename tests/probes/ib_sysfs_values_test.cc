#include "probes/ib_ports/ib_sysfs_values.h"

#include <gtest/gtest.h>

#include "probes/ib_ports/ib_counters.h"
#include "probes/kernel_log/link_events.h"

namespace nodehealth::ib {
namespace {

struct RateCase {
  const char* text;
  double bytes_per_second;
  int width;
  const char* speed;
};

TEST(IbSysfsValuesTest, ParsesEveryRateFormTheKernelPrints) {
  // The first two expectations are prometheus/procfs's (peer README 1b), the NDR one gpud's (1c),
  // the QDR and bare-width ones node_exporter's golden output (1a).
  const RateCase cases[] = {
      {"2.5 Gb/sec (1X SDR)\n", 312500000, 1, "SDR"},
      {"500 Gb/sec (4X HDR)", 62500000000, 4, "HDR"},
      {"400 Gb/sec (4X NDR)\n", 50000000000, 4, "NDR"},
      {"40 Gb/sec (4X QDR)\n", 5e9, 4, "QDR"},
      {"10 Gb/sec (4X)\n", 1.25e9, 4, ""},
      {"25 Gb/sec (1X EDR)\n", 3125000000, 1, "EDR"},
      {"100 Gb/sec (4X EDR)\n", 12500000000, 4, "EDR"},
      {"200 Gb/sec (2X NDR)\n", 25000000000, 2, "NDR"},
      {"800 Gb/sec (4X XDR)\n", 100000000000, 4, "XDR"},
      {"56 Gb/sec (4X FDR)\n", 7e9, 4, "FDR"},
      {"40 Gb/sec (4X FDR10)\n", 5e9, 4, "FDR10"},
      {"5 Gb/sec (1X DDR)\n", 625000000, 1, "DDR"},
      {"300 Gb/sec (12X EDR)\n", 37500000000, 12, "EDR"},
  };
  for (const RateCase& c : cases) {
    Expected<PortRate> rate = ParsePortRate(c.text);
    ASSERT_TRUE(rate) << c.text << ": " << rate.error().message;
    EXPECT_DOUBLE_EQ(rate->bytes_per_second(), c.bytes_per_second) << c.text;
    EXPECT_EQ(rate->width, c.width) << c.text;
    EXPECT_EQ(rate->speed, c.speed) << c.text;
  }
}

TEST(IbSysfsValuesTest, RejectsMalformedRates) {
  for (const char* text :
       {"", "\n", "fast", "400 Gb/sec", "400 Gb/sec (3X NDR)", "400 Gb/sec (4X ZDR)",
        "-1 Gb/sec (4X)", "400 Mb/sec (4X NDR)", "400 Gb/sec (4XNDR)", "400 Gb/sec (X NDR)",
        "4.0.0 Gb/sec (4X)", "999999999 Gb/sec (4X)", "400 Gb/sec (4X NDR) extra"}) {
    Expected<PortRate> rate = ParsePortRate(text);
    EXPECT_FALSE(rate) << text;
    if (!rate) {
      EXPECT_NE(rate.error().message.find("malformed port rate"), std::string::npos);
    }
  }
}

TEST(IbSysfsValuesTest, ParsesStatesWithIdAndName) {
  Expected<IdAndName> state = ParseIdAndName("4: ACTIVE\n");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->id, 4);
  EXPECT_EQ(state->name, "ACTIVE");
  Expected<IdAndName> phys = ParseIdAndName("5: LinkUp\n");
  ASSERT_TRUE(phys);
  EXPECT_EQ(phys->id, 5);
  EXPECT_EQ(phys->name, "LinkUp");
  // procfs's fixture has "4: ACTIVE" in a phys_state file: the number still parses.
  EXPECT_EQ(ParseIdAndName("4: ACTIVE")->id, 4);
  EXPECT_EQ(ParseIdAndName("2:Polling")->name, "Polling");
  EXPECT_FALSE(ParseIdAndName("ACTIVE"));
  EXPECT_FALSE(ParseIdAndName(": ACTIVE"));
  EXPECT_FALSE(ParseIdAndName("999: X"));
  EXPECT_FALSE(ParseIdAndName(""));
}

TEST(IbSysfsValuesTest, CountersAreNumbersOrUnreadableNeverZero) {
  Expected<std::optional<uint64_t>> none = ParseCounter("N/A (no PMA)\n");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(**ParseCounter("4294967295\n"), 4294967295u);
  EXPECT_EQ(**ParseCounter("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ParseCounter(""));
  EXPECT_FALSE(ParseCounter("12 34"));
  EXPECT_FALSE(ParseCounter("-1"));
  EXPECT_FALSE(ParseCounter("18446744073709551616"));
}

TEST(IbSysfsValuesTest, ParsesLids) {
  EXPECT_EQ(*ParseLid("0x12a\n"), 0x12au);
  EXPECT_EQ(*ParseLid("0x0"), 0u);
  EXPECT_FALSE(ParseLid("298"));
  EXPECT_FALSE(ParseLid("0x"));
  EXPECT_FALSE(ParseLid("0xzz"));
}

TEST(IbCountersTest, KnowsWidthsAndSaturation) {
  const CounterSpec* downed = FindCounterSpec("counters", "link_downed");
  ASSERT_NE(downed, nullptr);
  EXPECT_EQ(downed->width_bits, 8);
  EXPECT_EQ(downed->default_threshold, 10u);
  EXPECT_TRUE(IsSaturated(255, downed->width_bits));
  EXPECT_FALSE(IsSaturated(254, downed->width_bits));
  const CounterSpec* wait = FindCounterSpec("counters", "port_xmit_wait");
  ASSERT_NE(wait, nullptr);
  EXPECT_TRUE(IsSaturated(4294967295u, wait->width_bits));
  EXPECT_FALSE(wait->default_threshold.has_value());
  const CounterSpec* data = FindCounterSpec("counters", "port_rcv_data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->multiplier, 4);
  EXPECT_EQ(data->metric, "ib_port_data_received_bytes_total");
  EXPECT_EQ(FindCounterSpec("counters", "no_such_counter"), nullptr);
  EXPECT_EQ(FindCounterSpec("counters_ext", "port_rcv_data_64")->metric,
            "ib_port_legacy_data_received_bytes_total");
  // infiniband-diags etc/error_thresholds defaults.
  EXPECT_EQ(FindCounterSpec("counters", "symbol_error")->default_threshold, 10u);
  EXPECT_EQ(FindCounterSpec("counters", "port_xmit_discards")->default_threshold, 100u);
  EXPECT_EQ(FindCounterSpec("counters", "excessive_buffer_overrun_errors")->default_threshold, 10u);
}

TEST(LinkEventsTest, RecognisesCarrierAndLinkLines) {
  std::optional<LinkEvent> lost =
      ParseLinkEvent("Aug 17 06:18:01 jplc7eb7-vm-0 systemd-networkd[5398]: ib6: lost carrier");
  ASSERT_TRUE(lost);
  EXPECT_TRUE(lost->down);
  EXPECT_EQ(lost->interface, "ib6");
  std::optional<LinkEvent> gained = ParseLinkEvent("systemd-networkd[5398]: ib6: Gained carrier");
  ASSERT_TRUE(gained);
  EXPECT_FALSE(gained->down);
  std::optional<LinkEvent> mlx = ParseLinkEvent("mlx5_core 0000:18:00.0 ibp24s0: Link down");
  ASSERT_TRUE(mlx);
  EXPECT_TRUE(mlx->down);
  EXPECT_EQ(mlx->interface, "ibp24s0");
  EXPECT_EQ(mlx->bus_id, "0000:18:00.0");
  std::optional<LinkEvent> ready =
      ParseLinkEvent("IPv6: ADDRCONF(NETDEV_CHANGE): ib0: link becomes ready");
  ASSERT_TRUE(ready);
  EXPECT_FALSE(ready->down);
  EXPECT_EQ(ready->interface, "ib0");
  EXPECT_FALSE(ParseLinkEvent("NVRM: Xid (PCI:0000:19:00): 79, GPU has fallen off the bus."));
  EXPECT_FALSE(ParseLinkEvent(": lost carrier"));
  EXPECT_FALSE(ParseLinkEvent(std::string(5000, 'x') + "ib0: lost carrier"));
  EXPECT_FALSE(ParseLinkEvent("averyveryverylonginterfacename: lost carrier"));
}

TEST(LinkEventsTest, CounterWindowCountsGrowthInsideTheWindowAndSurvivesResets) {
  CounterWindow window(3600);
  window.Add("hca/mlx5_0/1", 0, 5);
  EXPECT_EQ(window.Increase("hca/mlx5_0/1"), 0u);
  window.Add("hca/mlx5_0/1", 600, 7);
  window.Add("hca/mlx5_0/1", 1200, 9);
  EXPECT_EQ(window.Increase("hca/mlx5_0/1"), 4u);
  // Two hours later only the growth since the last sample before the window start counts.
  window.Add("hca/mlx5_0/1", 1200 + 7200, 10);
  EXPECT_EQ(window.Increase("hca/mlx5_0/1"), 1u);
  // A reset (value went down) restarts the history.
  window.Add("hca/mlx5_0/1", 1200 + 7260, 0);
  EXPECT_EQ(window.Increase("hca/mlx5_0/1"), 0u);
  window.Add("hca/mlx5_0/1", 1200 + 7320, 3);
  EXPECT_EQ(window.Increase("hca/mlx5_0/1"), 3u);
  EXPECT_EQ(window.Increase("hca/mlx5_9/1"), 0u);
}

TEST(LinkEventsTest, CounterWindowTextRestoresTheSameWindowAndSkipsDamage) {
  CounterWindow window(3600);
  window.Add("hca/mlx5_0/1", 1.8e9, 5);
  window.Add("hca/mlx5_0/1", 1.8e9 + 60.5, 9);
  window.Add("gpu/0000:1b:00.0", 1.8e9 + 61, 120);
  const std::string text = window.Serialize();
  EXPECT_EQ(text,
            "gpu/0000:1b:00.0 1800000061 120\n"
            "hca/mlx5_0/1 1800000000 5\n"
            "hca/mlx5_0/1 1800000060.5 9\n");

  CounterWindow restored(3600);
  EXPECT_EQ(restored.Restore(text), 3u);
  EXPECT_EQ(restored.Increase("hca/mlx5_0/1"), 4u);
  EXPECT_EQ(restored.OldestTime("hca/mlx5_0/1"), 1.8e9);
  restored.Add("hca/mlx5_0/1", 1.8e9 + 120, 10);
  EXPECT_EQ(restored.Increase("hca/mlx5_0/1"), 5u);
  EXPECT_EQ(restored.OldestTime("hca/nowhere"), std::nullopt);

  // Lines that are not "key time value", values that are not numbers, and time going backwards
  // are skipped; the rest is taken.
  CounterWindow damaged(3600);
  EXPECT_EQ(damaged.Restore("a 10 1\nno-number x 2\na 5 3\nb 1e400 4\n only\na 20 7\nc 1 -2\n"
                            "d nan 1\n"),
            2u);
  EXPECT_EQ(damaged.Increase("a"), 6u);
  EXPECT_EQ(damaged.Increase("b"), 0u);

  // At most kMaxSerializedSamples per key, the newest kept.
  CounterWindow dense(1e9);
  for (int i = 0; i < 600; ++i) dense.Add("k", i, i);
  CounterWindow from_dense(1e9);
  EXPECT_EQ(from_dense.Restore(dense.Serialize()), CounterWindow::kMaxSerializedSamples);
  EXPECT_EQ(from_dense.OldestTime("k"), 600.0 - CounterWindow::kMaxSerializedSamples);
  EXPECT_EQ(from_dense.Increase("k"), CounterWindow::kMaxSerializedSamples - 1);
}

}  // namespace
}  // namespace nodehealth::ib
