// What polling watchers compare: a text that changes whenever one of the files does, whether
// written in place, renamed over, or swapped through a symlink (as Kubernetes mounts secrets
// and config maps). A missing file has a stamp too, so its return is noticed.
#pragma once

#include <string>
#include <vector>

namespace arca {

std::string FileStamp(const std::vector<std::string>& paths);

}  // namespace arca
