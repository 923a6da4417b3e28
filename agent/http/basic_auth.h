// Basic authentication (RFC 7617) against the web config's bcrypt hashes, without ever running
// bcrypt on the event loop: a check costs about 0.1 s at cost 10, so it runs on one worker thread
// behind a bounded queue, and each successful verification is remembered so that Prometheus,
// which sends the same credentials on every scrape, pays bcrypt once.
//
//   * The cache holds at most 64 successful verifications, keyed by an HMAC-SHA256 (with a key
//     drawn at start) of user, password and hash: no password is kept, a changed hash never
//     matches, and only verified credentials enter it, so failed attempts cannot evict
//     Prometheus' entry. SetUsers (a reloaded web config) empties it.
//   * An unknown user is checked against a fixed hash of the same cost class, as
//     exporter-toolkit does, so the answer time does not tell which users exist.
//   * The queue holds at most `queue_capacity` checks; a request that finds it full is answered
//     503 with Retry-After (kBusy). A flood of wrong passwords therefore delays only credentials
//     that are not cached yet, never a cached scrape, and never the loop.
//
// Thread safety: Check, TakeOutcomes, SetUsers and the destructor run on the event-loop thread
// only; the worker shares nothing else with it. The destructor does not wait for a check in
// progress (a cost-16 hash takes seconds): the worker then ends on its own.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace nodehealth::http {

// crypt(3) of `password` with the settings of `hash` (libxcrypt's crypt_rn), compared with `hash`
// in constant time. False for a password with a NUL byte or a hash crypt cannot use.
bool VerifyBcrypt(std::string_view password, const std::string& hash);

class BasicAuthenticator {
 public:
  enum class Verdict { kAllowed, kDenied, kPending, kBusy };
  struct Outcome {
    uint64_t ticket = 0;
    bool allowed = false;
  };

  // `wake` is called (from the worker) when an outcome is ready.
  BasicAuthenticator(std::size_t queue_capacity, std::function<void()> wake);
  ~BasicAuthenticator();
  BasicAuthenticator(const BasicAuthenticator&) = delete;
  BasicAuthenticator& operator=(const BasicAuthenticator&) = delete;

  void SetUsers(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }

  // Decides at once (no credentials, malformed, cached) or queues a check whose outcome comes
  // back with `ticket` through TakeOutcomes.
  Verdict Check(const std::optional<std::string>& authorization, uint64_t ticket);
  std::vector<Outcome> TakeOutcomes();

  std::size_t cached() const { return cache_set_.size(); }
  uint64_t checks_run() const;  // bcrypt runs so far (tests: the cache spares them)

  static constexpr std::size_t kCacheEntries = 64;

 private:
  using Key = std::array<unsigned char, 32>;
  struct Shared;
  Key KeyFor(std::string_view user, std::string_view password, std::string_view hash) const;
  void StartOnce();  // the key and the worker, when users first appear

  bool started_ = false;

  std::map<std::string, std::string> users_;
  uint64_t generation_ = 0;  // bumped by SetUsers: outcomes of older checks are not cached
  std::array<unsigned char, 32> secret_{};
  std::deque<Key> cache_order_;
  std::set<Key> cache_set_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace nodehealth::http
