#include "core/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/common/check.h"

namespace gensar {
namespace fs = std::filesystem;
namespace {

std::string temp_path_for(const std::string& path) { return fmt::format("{}.partial-{}", path, ::getpid()); }

// The last step of every atomic write: the complete temporary file takes the target's name.
void rename_into_place(const std::string& temp, const std::string& path) {
  std::error_code ec;
  fs::rename(temp, path, ec);
  if (ec) {
    ::unlink(temp.c_str());
    throw Error(fmt::format("cannot rename {} to {}: {}", temp, path, ec.message()));
  }
  fsync_path(fs::path(path).parent_path().string(), true);
}

}  // namespace

void fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.empty() ? "." : path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file_atomically(const std::string& path, const std::function<void(const ByteSink&)>& produce) {
  const std::string temp = temp_path_for(path);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(fmt::format("cannot create {}: {}", temp, std::strerror(errno)));
  int error = 0;  // first errno; later pieces are dropped once a write failed
  auto sink = [&](const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (error == 0 && size > 0) {
      ssize_t n = ::write(fd, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error = n < 0 ? errno : EIO;
        break;
      }
      p += n;
      size -= static_cast<size_t>(n);
    }
  };
  try {
    produce(sink);
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  // A full disk may only show at fsync or close (delayed allocation, NFS).
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    throw Error(fmt::format("writing {} failed: {}{}", path, std::strerror(error),
                            error == ENOSPC ? " (disk full)" : ""));
  }
  rename_into_place(temp, path);
}

void write_file_atomically(const std::string& path, const std::string& content) {
  write_file_atomically(path, [&content](const ByteSink& sink) { sink(content.data(), content.size()); });
}

void replace_file_atomically(const std::string& path, const std::function<void(const std::string& temp)>& write) {
  const std::string temp = temp_path_for(path);
  try {
    write(temp);
  } catch (...) {
    ::unlink(temp.c_str());
    throw;
  }
  int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(fmt::format("writing {} failed: {} was not written", path, temp));
  const int error = ::fsync(fd) != 0 ? errno : 0;
  ::close(fd);
  if (error != 0) {
    ::unlink(temp.c_str());
    throw Error(fmt::format("writing {} failed: {}{}", path, std::strerror(error),
                            error == ENOSPC ? " (disk full)" : ""));
  }
  rename_into_place(temp, path);
}

}  // namespace gensar
