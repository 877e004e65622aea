// A temporary directory tree for one test, removed afterwards.
#ifndef SYNCADMIN_TESTS_SUPPORT_TEMP_DIR_H_
#define SYNCADMIN_TESTS_SUPPORT_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace syncadmin::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  // Creates `relative` (and its parents) as a directory.
  void MakeDir(const std::string& relative) const;
  // Writes `content` to `relative`, creating parent directories.
  void WriteFile(const std::string& relative, const std::string& content) const;
  // Removes `relative` recursively.
  void Remove(const std::string& relative) const;

 private:
  std::filesystem::path path_;
};

}  // namespace syncadmin::testing

#endif  // SYNCADMIN_TESTS_SUPPORT_TEMP_DIR_H_
