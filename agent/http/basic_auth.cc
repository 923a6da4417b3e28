#include "agent/http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "agent/http/http_request.h"

namespace nodehealth::http {
namespace {

// bcrypt (cost 10) of 32 random hex digits nobody knows, made for nodehealth with crypt(3): an
// unknown user costs the same check as a known one.
constexpr char kUnknownUserHash[] = "$2b$10$9C6EeQbHyzsqQS4fGS24HuQyZGiD3F36.cTb.auWB5lT0OdUQCdUa";

struct Job {
  uint64_t ticket = 0;
  uint64_t generation = 0;
  bool known_user = false;
  std::string password;
  std::string hash;
};

}  // namespace

bool VerifyBcrypt(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  const std::string phrase(password);
  // struct crypt_data is ~32 KiB: on the heap, not on a thread's stack.
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof *data);
  const char* out = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (out == nullptr || out[0] == '*') return false;  // libxcrypt's failure tokens start with '*'
  const std::size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

struct BasicAuthenticator::Shared {
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::pair<Job, Key>> jobs;
  std::vector<std::pair<Outcome, std::pair<uint64_t, Key>>> outcomes;  // (generation, key)
  std::size_t capacity = 0;
  std::function<void()> wake;
  bool stop = false;
  bool busy = false;
  uint64_t checks = 0;

  void Work() {
    std::unique_lock lock(mutex);
    while (true) {
      cv.wait(lock, [&] { return stop || !jobs.empty(); });
      if (stop) return;
      auto [job, key] = std::move(jobs.front());
      jobs.pop_front();
      busy = true;
      lock.unlock();
      const bool match = VerifyBcrypt(job.password, job.hash);
      lock.lock();
      busy = false;
      ++checks;
      if (stop) return;
      outcomes.push_back({{job.ticket, match && job.known_user}, {job.generation, key}});
      if (wake) wake();
    }
  }
};

BasicAuthenticator::BasicAuthenticator(std::size_t queue_capacity, std::function<void()> wake)
    : shared_(std::make_shared<Shared>()) {
  shared_->capacity = queue_capacity;
  shared_->wake = std::move(wake);
}

void BasicAuthenticator::StartOnce() {
  // Only once users are configured: OpenSSL's generator and HMAC bring about 3 MiB of libcrypto
  // into memory, which an agent without authentication should not carry.
  if (started_) return;
  started_ = true;
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    std::random_device random;  // OpenSSL's generator failed: the kernel's, through libstdc++
    for (unsigned char& b : secret_) b = static_cast<unsigned char>(random());
  }
  std::thread([shared = shared_] { shared->Work(); }).detach();
}

BasicAuthenticator::~BasicAuthenticator() {
  // The worker holds its own reference to the shared state and ends when it sees `stop`: a
  // check in progress finishes on its own, and its outcome is dropped without waking anyone.
  std::lock_guard lock(shared_->mutex);
  shared_->stop = true;
  shared_->wake = nullptr;
  shared_->jobs.clear();
  shared_->cv.notify_all();
}

void BasicAuthenticator::SetUsers(std::map<std::string, std::string> users) {
  if (!users.empty()) StartOnce();
  users_ = std::move(users);
  ++generation_;
  cache_order_.clear();
  cache_set_.clear();
}

uint64_t BasicAuthenticator::checks_run() const {
  std::lock_guard lock(shared_->mutex);
  return shared_->checks;
}

BasicAuthenticator::Key BasicAuthenticator::KeyFor(std::string_view user, std::string_view password,
                                                   std::string_view hash) const {
  std::string message;
  message.reserve(user.size() + password.size() + hash.size() + 2);
  message.append(user).push_back('\0');
  message.append(hash).push_back('\0');
  message.append(password);
  Key key{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.data(), &length);
  OPENSSL_cleanse(message.data(), message.size());
  return key;
}

BasicAuthenticator::Verdict BasicAuthenticator::Check(
    const std::optional<std::string>& authorization, uint64_t ticket) {
  if (users_.empty()) return Verdict::kAllowed;
  if (!authorization) return Verdict::kDenied;
  std::optional<std::pair<std::string, std::string>> credentials =
      ParseBasicCredentials(*authorization);
  if (!credentials) return Verdict::kDenied;
  auto& [user, password] = *credentials;
  auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& hash = known ? it->second : std::string(kUnknownUserHash);
  const Key key = KeyFor(user, password, hash);
  if (known && cache_set_.count(key) > 0) return Verdict::kAllowed;
  Job job{.ticket = ticket,
          .generation = generation_,
          .known_user = known,
          .password = std::move(password),
          .hash = hash};
  std::lock_guard lock(shared_->mutex);
  if (shared_->jobs.size() >= shared_->capacity) return Verdict::kBusy;
  shared_->jobs.emplace_back(std::move(job), key);
  shared_->cv.notify_one();
  return Verdict::kPending;
}

std::vector<BasicAuthenticator::Outcome> BasicAuthenticator::TakeOutcomes() {
  std::vector<std::pair<Outcome, std::pair<uint64_t, Key>>> taken;
  {
    std::lock_guard lock(shared_->mutex);
    taken.swap(shared_->outcomes);
  }
  std::vector<Outcome> out;
  out.reserve(taken.size());
  for (auto& [outcome, generation_key] : taken) {
    const auto& [generation, key] = generation_key;
    if (generation != generation_) outcome.allowed = false;  // checked against replaced users
    if (outcome.allowed && cache_set_.insert(key).second) {
      cache_order_.push_back(key);
      if (cache_order_.size() > kCacheEntries) {
        cache_set_.erase(cache_order_.front());
        cache_order_.pop_front();
      }
    }
    out.push_back(outcome);
  }
  return out;
}

}  // namespace nodehealth::http
