// Expected<T>: a value or an Error, for code paths where failure is an ordinary outcome (a missing
// sysfs file, a malformed value, an NVML error). C++20 has no std::expected; this is the small
// subset nodehealth needs. Exceptions are reserved for start-up errors caught in main().
//
// Thread safety: a value type; no shared state.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace nodehealth {

// Why something failed: a short machine-friendly kind plus a human message. `sys_errno` keeps the
// errno of a failed system call (0 when not applicable) so callers can tell ENOENT ("not present",
// usually normal in sysfs) from EACCES or EIO.
struct Error {
  std::string message;
  int sys_errno = 0;
};

template <class T>
class Expected {
 public:
  Expected(T value) : storage_(std::move(value)) {}      // NOLINT: implicit by design
  Expected(Error error) : storage_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return storage_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<0>(storage_); }
  T& value() & { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const { return std::get<1>(storage_); }

  T value_or(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> storage_;
};

inline Error MakeError(std::string message, int sys_errno = 0) {
  return Error{std::move(message), sys_errno};
}

}  // namespace nodehealth
