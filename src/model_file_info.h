// InspectModelFile and DescribeModelFile on any byte source.
#ifndef LSTMKIT_SRC_MODEL_FILE_INFO_H_
#define LSTMKIT_SRC_MODEL_FILE_INFO_H_

#include <string>

#include "byte_source.h"
#include "lstmkit/lstmkit.hpp"

namespace lstmkit::internal {

ModelFileInfo InspectModelFile(ByteSource& source);
std::string DescribeModelFile(ByteSource& source);

}  // namespace lstmkit::internal

#endif  // LSTMKIT_SRC_MODEL_FILE_INFO_H_
