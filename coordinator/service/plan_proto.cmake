#spindle_plan_proto : planner::Plan->spindle.v1.Plan.Included from
#coordinator / service / CMakeLists.txt.
add_library(spindle_plan_proto ${CMAKE_CURRENT_SOURCE_DIR} / plan_proto.cc)
    target_include_directories(spindle_plan_proto PUBLIC ${PROJECT_SOURCE_DIR})
        target_link_libraries(spindle_plan_proto PUBLIC spindle_planner spindle_proto spindle_config
                                  PRIVATE spindle_layout spindle_warnings)
